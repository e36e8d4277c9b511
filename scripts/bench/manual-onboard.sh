#!/bin/sh
# The AWS-documented manual import procedure (aws CLI + openssl), as a user would script it:
# create-key (EXTERNAL), get-parameters-for-import, openssl rand + OAEP-SHA-256 wrap, import-key-material.
# Usage: manual-onboard.sh ENDPOINT REGION WORKDIR
set -eu
EP="$1"; REGION="$2"; W="$3"
cd "$W"
KEY_ID=$(aws --endpoint-url "$EP" --region "$REGION" kms create-key --origin EXTERNAL --query KeyMetadata.KeyId --output text)
aws --endpoint-url "$EP" --region "$REGION" kms get-parameters-for-import --key-id "$KEY_ID" \
  --wrapping-algorithm RSAES_OAEP_SHA_256 --wrapping-key-spec RSA_4096 --output json > params.json
jq -r .PublicKey params.json | base64 -d > WrappingPublicKey.bin
jq -r .ImportToken params.json | base64 -d > ImportToken.bin
openssl rand -out PlaintextKeyMaterial.bin 32
openssl pkeyutl -encrypt -in PlaintextKeyMaterial.bin -out EncryptedKeyMaterial.bin -inkey WrappingPublicKey.bin \
  -keyform DER -pubin -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
VALID_TO=$(date -u -d '+90 days' +%Y-%m-%dT%H:%M:%SZ)
aws --endpoint-url "$EP" --region "$REGION" kms import-key-material --key-id "$KEY_ID" \
  --encrypted-key-material fileb://EncryptedKeyMaterial.bin --import-token fileb://ImportToken.bin \
  --expiration-model KEY_MATERIAL_EXPIRES --valid-to "$VALID_TO" > /dev/null
aws --endpoint-url "$EP" --region "$REGION" kms describe-key --key-id "$KEY_ID" --query KeyMetadata.KeyState --output text
