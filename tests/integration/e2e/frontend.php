<?php
// A PHP frontend calling the local canarymesh the way a PHP web app does: php-curl, one reused
// handle (keep-alive), the x-canary-version header set on test requests only.
//
//   php frontend.php <proxy-url> [calls-per-kind] [override]
//
// Alternates calls without and with `x-canary-version: <override>` (default user=v2) and prints
// one JSON line per call: {"call", "override", "status", "header_version", "body_version",
// "error"}. Exits 2 on bad arguments and 1 if php-curl itself fails.

if ($argc < 2) {
    fwrite(STDERR, "usage: php frontend.php <proxy-url> [calls-per-kind] [override]\n");
    exit(2);
}
if (!function_exists('curl_init')) {
    fwrite(STDERR, "php-curl is not installed\n");
    exit(2);
}
$url = $argv[1];
$calls = $argc > 2 ? intval($argv[2]) : 10;
$override = $argc > 3 ? $argv[3] : 'user=v2';

$handle = curl_init();

// One call; the header list is set on every call, so a reused handle never carries the
// previous call's override (a classic bug with reused curl handles).
function call_backend($handle, string $url, ?string $override): array
{
    $served_by = null;
    $headers = ['Accept: application/json'];
    if ($override !== null) {
        $headers[] = 'x-canary-version: ' . $override;
    }
    curl_setopt_array($handle, [
        CURLOPT_URL => $url,
        CURLOPT_HTTPGET => true,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_HTTPHEADER => $headers,
        CURLOPT_CONNECTTIMEOUT => 5,
        CURLOPT_TIMEOUT => 20,
        CURLOPT_HEADERFUNCTION => function ($h, $line) use (&$served_by) {
            $parts = explode(':', $line, 2);
            if (count($parts) === 2 && strtolower(trim($parts[0])) === 'x-served-by-version') {
                $served_by = trim($parts[1]);
            }
            return strlen($line);
        },
    ]);
    $body = curl_exec($handle);
    if ($body === false) {
        return ['status' => 0, 'header_version' => null, 'body_version' => null,
                'error' => curl_error($handle)];
    }
    $status = curl_getinfo($handle, CURLINFO_RESPONSE_CODE);
    $decoded = json_decode($body, true);
    return [
        'status' => $status,
        'header_version' => $served_by,
        'body_version' => is_array($decoded) && isset($decoded['version']) ? $decoded['version'] : null,
        'error' => $status === 200 ? null : trim($body),
    ];
}

$failed = false;
for ($i = 0; $i < $calls; $i++) {
    foreach ([null, $override] as $with) {
        $result = call_backend($handle, $url, $with);
        $failed = $failed || $result['status'] === 0;
        echo json_encode(['call' => $i, 'override' => $with] + $result), "\n";
    }
}
curl_close($handle);
exit($failed ? 1 : 0);
