<?php
// Mint a Participation secure token (HS256) with PHP's standard functions only.
function b64url(string $data): string {
    return rtrim(strtr(base64_encode($data), '+/', '-_'), '=');
}

function mint_token(string $secret, string $sub, string $campaignId, int $lifetimeSeconds = 600, ?array $limit = null, ?array $gift = null): string {
    $now = time();
    $header = ['alg' => 'HS256', 'typ' => 'JWT'];
    $payload = ['sub' => $sub, 'campaignId' => $campaignId, 'jti' => bin2hex(random_bytes(16)), 'iat' => $now, 'exp' => $now + $lifetimeSeconds];
    if ($limit !== null) $payload['limit'] = $limit; // e.g. ['nb' => 5] or ['canPlay' => false]
    if ($gift !== null) $payload['gift'] = $gift; // e.g. ['label' => 'Coffee mug', 'cw' => true]

    $signingInput = b64url(json_encode($header)) . '.' . b64url(json_encode($payload, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES));
    return $signingInput . '.' . b64url(hash_hmac('sha256', $signingInput, $secret, true));
}

// PARTICIPATION_SECRET=... php mint-token.php <campaignId> <sub>
if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    echo mint_token(getenv('PARTICIPATION_SECRET'), $argv[2], $argv[1]), PHP_EOL;
}
