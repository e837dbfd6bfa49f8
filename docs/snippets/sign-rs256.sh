# Signs an RS256 secure token with partner-2025.key, using openssl only, and prints it.
# CAMPAIGN and SUB name the campaign and the participant (default 123456 and user-42).
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"RS256","typ":"JWT","kid":"partner-2025"}' | b64url)
payload=$(printf '{"sub":"%s","campaignId":"%s","jti":"%s","iat":%d,"exp":%d}' \
  "${SUB:-user-42}" "${CAMPAIGN:-123456}" "$(openssl rand -hex 16)" "$now" "$((now + 300))" | b64url)
signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign partner-2025.key -binary | b64url)
echo "$header.$payload.$signature"
