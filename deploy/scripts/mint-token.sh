#!/usr/bin/env bash
# Mint a development JWT (HS256) the gateway accepts, from the signing key in Key Vault or in $STOCKSTREAM_JWT_SIGNING_KEY.
#   deploy/scripts/mint-token.sh [subject] [lifetime-seconds] [instruments]
# Environment: STOCKSTREAM_JWT_SIGNING_KEY (else read from the azd environment's Key Vault),
#              STOCKSTREAM_AUTH_ISSUER (default stockstream-dev), STOCKSTREAM_AUTH_AUDIENCE (default stockstream).
# Prints only the token, so: TOKEN=$(deploy/scripts/mint-token.sh alice 3600)
set -euo pipefail

subject="${1:-stockstream-client}"
lifetime="${2:-3600}"
instruments="${3:-}"
issuer="${STOCKSTREAM_AUTH_ISSUER:-stockstream-dev}"
audience="${STOCKSTREAM_AUTH_AUDIENCE:-stockstream}"

key="${STOCKSTREAM_JWT_SIGNING_KEY:-}"
if [ -z "$key" ]; then
  vault="$(azd env get-value AZURE_KEY_VAULT_NAME)"
  key="$(az keyvault secret show --vault-name "$vault" --name jwt-signing-key --query value -o tsv)"
fi
if [ "${#key}" -lt 32 ]; then
  echo "signing key missing or shorter than 32 characters" >&2
  exit 1
fi

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
json_escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

now="$(date +%s)"
claims="\"sub\":\"$(json_escape "$subject")\",\"iss\":\"$(json_escape "$issuer")\",\"aud\":\"$(json_escape "$audience")\""
claims="$claims,\"scope\":\"marketdata:read\",\"iat\":$now,\"nbf\":$((now - 5)),\"exp\":$((now + lifetime))"
if [ -n "$instruments" ]; then
  claims="$claims,\"instruments\":\"$(json_escape "$instruments")\""
fi

header="$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)"
payload="$(printf '{%s}' "$claims" | b64url)"
# The gateway uses the UTF-8 bytes of the key string as the HMAC key; openssl -hmac does the same.
signature="$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$key" -binary | b64url)"
printf '%s.%s.%s\n' "$header" "$payload" "$signature"
