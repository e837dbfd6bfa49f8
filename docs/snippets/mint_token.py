# Mint a Participation secure token (HS256) with Python's standard library only.
import base64, hashlib, hmac, json, os, sys, time, uuid


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(secret: str, sub: str, campaign_id: str, lifetime_seconds: int = 600, limit=None, gift=None) -> str:
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"sub": sub, "campaignId": campaign_id, "jti": str(uuid.uuid4()), "iat": now, "exp": now + lifetime_seconds}
    if limit is not None:
        payload["limit"] = limit  # e.g. {"nb": 5} or {"canPlay": False}
    if gift is not None:
        payload["gift"] = gift  # e.g. {"label": "Coffee mug", "cw": True}

    encode = lambda part: b64url(json.dumps(part, separators=(",", ":")).encode("utf-8"))
    signing_input = encode(header) + "." + encode(payload)
    signature = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


if __name__ == "__main__":  # PARTICIPATION_SECRET=... python3 mint_token.py <campaignId> <sub>
    print(mint_token(os.environ["PARTICIPATION_SECRET"], sys.argv[2], sys.argv[1]))
