// Mint a Participation secure token (HS256) with the JDK only (Java 11 or later).
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class MintToken {
    public static String mint(String secret, String sub, String campaignId, long lifetimeSeconds) throws Exception {
        long now = System.currentTimeMillis() / 1000;
        String header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        String payload = "{\"sub\":" + json(sub) + ",\"campaignId\":" + json(campaignId)
            + ",\"jti\":" + json(UUID.randomUUID().toString())
            + ",\"iat\":" + now + ",\"exp\":" + (now + lifetimeSeconds) + "}";
        String signingInput = b64url(header.getBytes(StandardCharsets.UTF_8)) + "." + b64url(payload.getBytes(StandardCharsets.UTF_8));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return signingInput + "." + b64url(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
    }

    private static String b64url(byte[] data) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(data);
    }

    /** A JSON string literal (use your JSON library in real code). */
    private static String json(String value) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    // PARTICIPATION_SECRET=... java MintToken.java <campaignId> <sub>
    public static void main(String[] args) throws Exception {
        System.out.println(mint(System.getenv("PARTICIPATION_SECRET"), args[1], args[0], 600));
    }
}
