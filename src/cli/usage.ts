/** Hand-written usage texts (as `age` does): what each command does, its flags, and examples. */

export const USAGE = `Usage:
    kms-byok onboard --yes (--recipient AGE_RECIPIENT... | --passphrase-file FILE) [flags]
    kms-byok escrow verify FILE (--identity FILE | --passphrase-file FILE)
    kms-byok emulator [--port N] [--state-file FILE]

Bring your own key material into AWS KMS: create an EXTERNAL key, generate the material
locally, seal it in an escrow for the custodians, wrap it, import it, and prove KMS holds it.

With no AWS target (--region, --profile, --endpoint-url, AWS_REGION, AWS_PROFILE or
AWS_ENDPOINT_URL_KMS) every command runs against an embedded KMS emulator: a rehearsal.

Commands:
    onboard     run a full import ceremony for a new key
    escrow      open and check a sealed escrow (verify)
    emulator    serve the KMS emulator on 127.0.0.1 for rehearsals spanning several commands

Target flags (every command that talks to KMS):
    --region REGION         AWS Region (default: the AWS default chain)
    --profile NAME          AWS shared-config profile
    --endpoint-url URL      KMS endpoint (also AWS_ENDPOINT_URL_KMS)
    --emulator              force the embedded emulator
    --emulator-state FILE   keep the embedded emulator's state in FILE between commands

Output:
    Results go to stdout; progress, warnings and errors to stderr. --json prints one JSON document.
    Exit codes: 0 done, 1 failed, 2 usage or missing input, 3 needs attention, 130 cancelled.

Run kms-byok COMMAND --help for a command's flags and examples.
`;

export const ONBOARD_USAGE = `Usage:
    kms-byok onboard --yes (--recipient AGE_RECIPIENT... | --passphrase-file FILE) [flags]

Creates an EXTERNAL KMS key, fetches import parameters, generates the material with node:crypto
(256-bit AES by default) or reads yours, seals it in an escrow (written durably BEFORE anything is
imported), wraps it, imports it, and proves KMS holds it: Encrypt/Decrypt and a KeyMaterialId
re-import check (symmetric), GenerateMac (HMAC), GetPublicKey and Sign (asymmetric).

Flags:
    --yes                       confirm creating the key (required when not interactive)
    --alias alias/NAME          alias for the new key (checked to be free before the key is created)
    --description TEXT          key description
    --valid-to TIME             material expiry, ISO-8601 UTC (at most 365 days ahead)
    --expires-in DURATION       material expiry from now, e.g. 90d (at most 365d)
    --no-expiry                 material never expires (ExpirationModel KEY_MATERIAL_DOES_NOT_EXPIRE)
    --key-spec SPEC             SYMMETRIC_DEFAULT (default), HMAC_224/256/384/512, RSA_2048/3072/4096,
                                ECC_NIST_P256/P384/P521, ECC_SECG_P256K1
    --key-usage USAGE           default per spec: ENCRYPT_DECRYPT (symmetric), GENERATE_VERIFY_MAC (HMAC),
                                SIGN_VERIFY (RSA, ECC)
    --material-file PATH        import existing material (raw, hex or base64; PKCS#8 PEM/DER for
                                asymmetric keys) instead of generating it
    --wrapping-algorithm ALG    RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256,
                                RSA_AES_KEY_WRAP_SHA_1 (default: the strongest valid for the key spec)
    --wrapping-key-spec SPEC    RSA_4096 (default), RSA_3072, RSA_2048
    --recipient AGE_RECIPIENT   seal the escrow to this custodian (age1…); repeatable
    --recipients-file FILE      seal to every recipient listed in FILE (one per line, # comments)
    --passphrase-file FILE      seal with the passphrase in FILE (- for stdin)
    --escrow-dir DIR            where the escrow is written (default ./escrow)
    --json                      print one JSON document
    (and the target flags: --region, --profile, --endpoint-url, --emulator, --emulator-state)

Exactly one expiry choice is required: --valid-to, --expires-in or --no-expiry.

Examples:
    $ age-keygen -o custodian.txt          # each custodian, on their own machine
    $ kms-byok onboard --yes --alias alias/payments --expires-in 90d \\
        --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
    $ kms-byok onboard --yes --emulator --no-expiry --passphrase-file pass.txt --json
    $ kms-byok onboard --yes --key-spec ECC_NIST_P256 --material-file signing-key.pk8.pem \
        --no-expiry --recipient age1…
`;

export const ESCROW_USAGE = `Usage:
    kms-byok escrow verify FILE (--identity FILE | --passphrase-file FILE) [--json]

verify opens a sealed escrow, checks its manifest, sidecar and every material's check value,
and prints the manifest and check values — never the material. Exit 3 when a check fails.

Flags:
    --identity FILE         age identity file (AGE-SECRET-KEY-1…, as age-keygen writes it); repeatable
    --passphrase-file FILE  passphrase for a passphrase-sealed escrow (- for stdin)
    --json                  print one JSON document

Example:
    $ kms-byok escrow verify escrow/1234abcd-….v1.age --identity custodian.txt
`;

export const EMULATOR_USAGE = `Usage:
    kms-byok emulator [--port N] [--region REGION] [--state-file FILE]

Serves the embedded KMS emulator on 127.0.0.1 until interrupted (Ctrl-C). It speaks the AWS KMS
JSON protocol, so kms-byok, the AWS CLI and any SDK work against it with dummy credentials.

Flags:
    --port N            port to listen on (default 4566; 0 picks a free one)
    --region REGION     default Region for requests that carry none (default us-east-1)
    --state-file FILE   load and save the emulator's state in FILE (mode 0600)

Example:
    $ kms-byok emulator --port 4566 --state-file rehearsal.json &
    $ export AWS_ENDPOINT_URL_KMS=http://127.0.0.1:4566
    $ kms-byok onboard --yes --expires-in 30d --passphrase-file pass.txt
    $ aws kms describe-key --key-id alias/payments --endpoint-url http://127.0.0.1:4566
`;
