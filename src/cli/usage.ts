/** Hand-written usage texts (as `age` does): what each command does, its flags, and examples. */

export const USAGE = `Usage:
    kms-byok onboard --yes (--recipient AGE_RECIPIENT... | --passphrase-file FILE) [flags]
    kms-byok escrow verify FILE (--identity FILE | --passphrase-file FILE)
    kms-byok emulator [--port N] [--state-file FILE]

Bring your own key material into AWS KMS: create an EXTERNAL key, generate the material
locally, seal it in an escrow for the custodians, wrap it, import it, and prove KMS holds it.

With no AWS target (--region, --profile, --endpoint-url, AWS_REGION, AWS_PROFILE or
AWS_ENDPOINT_URL_KMS) a command on a terminal runs against an embedded KMS emulator: a
rehearsal. Without a terminal, or with CI set, it exits 2 (ERR_NO_TARGET) unless --emulator
asks for the rehearsal.

Commands:
    onboard     run a full import ceremony for a new key
    escrow      open and check a sealed escrow (verify)
    emulator    serve the KMS emulator on 127.0.0.1 for rehearsals spanning several commands
    wizard      the ceremonies, interactively (also: kms-byok with no arguments on a terminal)
    wrap        air-gapped step 2, offline: seal and wrap material for a parameters bundle
    import      air-gapped step 3, online: import and verify an import bundle
    status      state, materials, expiry, rotation age and escrow match of keys (exit 3: act)
    reimport    re-import every material of keys with a new expiry (scheduled renewal)
    restore     disaster recovery: re-import from the escrow, or a new key from it
    rotate      rotate key material (--in-place or --new-key)
    revoke      delete imported key material at once (the BYOK kill switch)
    transcript  verify the ceremony transcript's hash chain
    policy      print a key policy with separation of duties (or a role's identity policy)
    schedule    print a systemd timer, crontab line or Kubernetes CronJob for unattended re-import

Target flags (every command that talks to KMS):
    --region REGION         AWS Region (default: the AWS default chain)
    --profile NAME          AWS shared-config profile
    --endpoint-url URL      KMS endpoint (also AWS_ENDPOINT_URL_KMS)
    --emulator              rehearse on the embedded emulator (needed without a terminal)
    --emulator-state FILE   keep the embedded emulator's state in FILE between commands (holds
                            imported material and wrapping private keys in the clear: rehearsals only)
    --read-timeout SECONDS  deadline of each attempt of a KMS call, whole answer (default 60)

Output:
    Results go to stdout; progress, warnings and errors to stderr. --json prints one JSON document.
    Exit codes: 0 done, 1 failed, 2 usage or missing input, 3 needs attention, 130/143/129 stopped
    by SIGINT/SIGTERM/SIGHUP (re-run the same command to finish).

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
    --i-understand-plaintext-state  allow --material-file with --emulator-state (which writes the
                                material in the clear to the state file); only for material that is not real
    --wrapping-algorithm ALG    RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256,
                                RSA_AES_KEY_WRAP_SHA_1 (default: the strongest valid for the key spec)
    --wrapping-key-spec SPEC    RSA_4096 (default), RSA_3072, RSA_2048
    --recipient [NAME=]AGE      seal the escrow to this custodian (age1…, optionally labelled alice=age1…); repeatable
    --recipients-file FILE      seal to every recipient listed in FILE (one per line, # comments)
    --passphrase-file FILE      seal with the passphrase in FILE (- for stdin)
    --threshold M               m-of-n: any M of the --recipient custodians open the escrow (one share
                                file each, sealed to that custodian alone)
    --split xor                 split knowledge: each recipient gets a full-length XOR component with its
                                own check value; all are needed
    --escrow-dir DIR            where the escrow is written (default ./escrow)
    --export-parameters FILE    air-gapped step 1: create the key (+ alias), write its import parameters
                                to FILE (create-only, 0600) and stop; then kms-byok wrap offline
    --key-id KEY                with --export-parameters: fresh parameters for that key (expired token)
    --apply-policy FILE         attach this key policy at CreateKey (see kms-byok policy)
    --transcript FILE           the ceremony record to append to (default <escrow-dir>/transcript.md)
    --notify-command CMD        run CMD (sh -c) afterwards with the JSON result on stdin (30 s limit)
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
    kms-byok escrow inspect FILE [--json]
    kms-byok escrow verify FILE (--identity FILE... | --passphrase-file FILE) [--json]
    kms-byok escrow reseal FILE (--identity FILE... | --passphrase-file FILE) (--recipient [NAME=]AGE... | --new-passphrase-file FILE) [--threshold M | --split xor]
    kms-byok escrow export FILE (--identity FILE... | --passphrase-file FILE) --insecure-plaintext --out FILE [--material N]
    kms-byok escrow acknowledge FILE --identity FILE --name "FULL NAME"

inspect prints what the sidecar says (key, custodians, threshold, materials with check values and
expiry, sealed files with SHA-256, versions) and needs no secret.
verify opens the escrow, checks manifest, sidecar, file hashes and every material's check value,
and prints the facts — never the material. Exit 3 when a check fails.
reseal writes a new version sealed to a new set of custodians; the old version is kept.
export writes one material's raw bytes to a new 0600 file, for disaster recovery without KMS access
to this tool; it never writes to a terminal.
acknowledge records a custodian's confirmation of receipt in the ceremony transcript: their identity
must open the share or component they hold (or the escrow itself), so possession is proven.

Flags:
    --identity FILE             age identity file (AGE-SECRET-KEY-1…, as age-keygen writes it); repeatable,
                                e.g. every custodian of an m-of-n escrow at one table
    --passphrase-file FILE      passphrase of a passphrase-sealed escrow (- for stdin)
    --recipient [NAME=]AGE      reseal: a new custodian, optionally labelled (alice=age1…)
    --threshold M               reseal: any M of the recipients open it (one share file each)
    --split xor                 reseal: each recipient holds a full-length XOR component; all are needed
    --new-passphrase-file FILE  reseal: seal the new version (also) with this passphrase
    --json                      print one JSON document

Examples:
    $ kms-byok escrow inspect escrow/1234abcd-….v1.age
    $ kms-byok escrow verify escrow/1234abcd-….v1.age --identity custodian.txt
    $ kms-byok escrow reseal escrow/1234abcd-….v1.age --identity alice.txt \\
        --recipient bob=age1… --recipient carol=age1… --recipient dan=age1… --threshold 2
`;

export const EMULATOR_USAGE = `Usage:
    kms-byok emulator [--port N] [--region REGION] [--state-file FILE] [--quota default|SCALE]
        [--latency MIN-MAXms] [--fault OPERATION:KIND[:TIMES]]... [--wrapping-pool N]
        [--unwrap-engine node-forge|openssl]

Serves the embedded KMS emulator on 127.0.0.1 until interrupted (Ctrl-C). It speaks the AWS KMS
JSON protocol, so kms-byok, the AWS CLI and any SDK work against it with dummy credentials. It
answers only requests addressed to a loopback name (Host: localhost, 127.x.x.x or [::1]), so a web
page cannot reach it by DNS rebinding.

Flags:
    --port N            port to listen on (default 4566; 0 picks a free one)
    --region REGION     default Region for requests that carry none (default us-east-1)
    --state-file FILE   load and save the emulator's state in FILE (mode 0600, never through a
                        symbolic link); it holds imported key material and wrapping private keys
                        in the clear: rehearsals only
    --quota default     enforce AWS KMS's default request quotas per Region (GetParametersForImport
                        1/s, ImportKeyMaterial 15/s, CreateKey 5/s...); over it: ThrottlingException
    --quota SCALE       the same quotas times SCALE (80: 80x AWS's, to rehearse a raised quota)
    --latency MIN-MAXms wait MIN to MAX ms (uniform) before answering each request, e.g. 20-60ms
    --fault OP:KIND[:TIMES]
                        inject a fault into the next TIMES (default 1, or "always") requests of
                        operation OP (* for all). KIND: throttle; internal (KMSInternalException);
                        http500 (bare 500); latency (60 s, or OP:latency:TIMES:30s); drop-before
                        (connection closed, nothing done); drop-after (done, connection closed
                        unanswered); drip (done, answered one byte a second, or OP:drip:TIMES:250ms);
                        loop-marker (List* answers Truncated with the same marker forever). Repeatable. Live: X-Amz-Target KmsByokEmulator.InjectFault
    --wrapping-pool N   RSA wrapping key pairs kept ready per spec (default 2)
    --unwrap-engine E   how ImportKeyMaterial decrypts RSA: node-forge (default; pure JavaScript,
                        independent of kms-byok's OpenSSL wrapping, ~0.2 s per RSA-4096 import) or
                        openssl (Node's crypto, ~100x faster: for large rehearsals and benchmarks)

Example:
    $ kms-byok emulator --port 4566 --state-file rehearsal.json &
    $ export AWS_ENDPOINT_URL_KMS=http://127.0.0.1:4566
    $ kms-byok onboard --yes --expires-in 30d --passphrase-file pass.txt
    $ aws kms describe-key --key-id alias/payments --endpoint-url http://127.0.0.1:4566

Failure drill (AWS's quotas and latency; an import reaches KMS but its answer is lost):
    $ kms-byok emulator --port 4566 --state-file drill.json --quota default --latency 20-60ms \\
        --fault ImportKeyMaterial:drop-after:1 --fault GetParametersForImport:throttle:2 &
    $ export AWS_ENDPOINT_URL_KMS=http://127.0.0.1:4566
    $ kms-byok onboard --yes --expires-in 30d --passphrase-file pass.txt
    $ curl -s http://127.0.0.1:4566/ -H 'X-Amz-Target: KmsByokEmulator.InjectFault' \\
        -d '{"Operation":"CreateKey","Kind":"internal","Times":1}'    # one more fault, live
`;

const LIFECYCLE_ESCROW_FLAGS = `    --identity FILE         age identity file that opens the escrow (repeatable)
    --passphrase-file FILE  passphrase that opens the escrow (- for stdin)
    --escrow-dir DIR        where the key's escrows are (default ./escrow); the latest version is used
    --escrow FILE           a specific escrow file instead (must belong to the key)
    --transcript FILE       ceremony transcript to append to (default <escrow dir>/transcript.md)
    --resume                continue an interrupted run (re-running the same command does the same)
    --json                  print one JSON document
    (and the target flags: --region, --profile, --endpoint-url, --emulator, --emulator-state)`;

const PLAN_FLAGS = `Fleet flags (see docs/fleet.md):
    --plan FILE             run every key of a plan file instead of KEY... (validated whole first)
    --resume                with --plan: run only the keys an earlier run of the plan did not finish
    --concurrency N         keys in flight per account and Region (default 8)
    --rate OP=N             client-side rate of a KMS operation, requests/s per account and Region
                            (repeatable; default: the documented KMS quotas)
    --rate-scale X          multiply every default rate by X (an account with raised quotas)
    --progress-interval S   seconds between progress lines when stderr is not a terminal (default 5)`;

export const STATUS_USAGE = `Usage:
    kms-byok status [KEY...] [--escrow-dir DIR] [--warn-days N] [--max-age 90d] [--json | --format prometheus]
    kms-byok status --plan FILE [--json]

For each KEY (key id, ARN or alias/NAME; default: every EXTERNAL key the caller can list) shows the
key state, every key material (ListKeyRotations) with its ValidTo and days left, the last rotation and
its age, on-demand rotations left, and whether the latest escrow in --escrow-dir exists and matches
(KeyMaterialIds, check values and file hashes, from the sidecar: no secret is needed).

Exit 3 when anything needs action: a material not imported, ValidTo within --warn-days (default 30),
a rotation older than --max-age, a missing or mismatching escrow, a key pending deletion.

--format prometheus prints node_exporter textfile-collector gauges (seconds until each material
expires, rotation age, key enabled, escrow present/matching, attention) and exits 0 unless the status
could not be taken: the alert lives in Prometheus. --format json is the same as --json.

With --plan FILE, every key of the plan, each with its own warnDays and maxAge (docs/fleet.md).

${PLAN_FLAGS}

Examples:
    $ kms-byok status --escrow-dir /srv/escrow --warn-days 30 --max-age 365d
    $ kms-byok status --format prometheus > /var/lib/node_exporter/textfile/kms-byok.prom.tmp \\
        && mv /var/lib/node_exporter/textfile/kms-byok.prom.tmp /var/lib/node_exporter/textfile/kms-byok.prom
    $ kms-byok status --plan fleet.json
`;

export const REIMPORT_USAGE = `Usage:
    kms-byok reimport KEY... (--expires-in DURATION | --valid-to TIME | --no-expiry)
        (--identity FILE | --passphrase-file FILE) [--before 30d] [flags]
    kms-byok reimport --plan FILE [--resume] [--concurrency N] [--rate OP=N] [--before 30d] [--json]

Scripted renewal: opens each key's escrow unattended, fetches fresh import parameters, re-imports
every material of the key (ImportType EXISTING_KEY_MATERIAL with its KeyMaterialId, so KMS itself
confirms it is the same material) with the new expiry, records the new ValidTo in the escrow's
sidecar, and verifies the key. Safe to run twice.

Flags:
    --expires-in DURATION   new expiry from now, e.g. 90d (at most 365d)
    --valid-to TIME         new expiry, ISO-8601 UTC
    --no-expiry             KEY_MATERIAL_DOES_NOT_EXPIRE
    --before DURATION       only keys whose earliest ValidTo is within DURATION (else "not due", exit 0)
    --notify-command CMD    run CMD (sh -c) afterwards with the JSON result on stdin (30 s limit)
${LIFECYCLE_ESCROW_FLAGS}

${PLAN_FLAGS}

Example (daily, see docs/lifecycle.md for cron and systemd timers):
    $ kms-byok reimport alias/payments --before 30d --expires-in 90d --identity /etc/kms-byok/custodian.txt
`;

export const RESTORE_USAGE = `Usage:
    kms-byok restore KEY (--expires-in DURATION | --valid-to TIME | --no-expiry) (--identity FILE | --passphrase-file FILE)
    kms-byok restore --new-key --escrow FILE --yes [--alias alias/NAME] [--multi-region --replica-region R...] [flags]
    kms-byok restore --plan FILE [--resume] [--concurrency N] [--json]

Disaster recovery. For a key in PendingImport (material expired or deleted), re-imports every missing
material from its escrow so the key is usable again; old ciphertexts decrypt as before.

With --new-key, creates a fresh EXTERNAL key (in this or another account or Region) from the escrow's
current material and seals a new escrow for it. Ciphertexts of the old key do NOT decrypt under the
new key: KMS binds each ciphertext to its key. With --multi-region the new key is a multi-Region
primary, replicated to each --replica-region, and the same material is imported into every replica.

Flags:
    --new-key               create a new key instead of restoring the old one (needs --yes)
    --alias alias/NAME      alias for the new key (created, or moved to it when it exists: --move-alias)
    --move-alias            move an existing alias to the new key
    --multi-region          the new key is a multi-Region primary
    --replica-region R      replicate the new key into R and import there (repeatable)
    --expires-in / --valid-to / --no-expiry   expiry of the re-imported material
${LIFECYCLE_ESCROW_FLAGS}

Examples:
    $ kms-byok restore alias/payments --expires-in 90d --identity custodian.txt
    $ kms-byok restore --new-key --escrow escrow/1234abcd-….v2.age --yes --expires-in 90d \\
        --identity custodian.txt --multi-region --replica-region eu-west-1 --replica-region us-west-2
`;

export const ROTATE_USAGE = `Usage:
    kms-byok rotate KEY --in-place (--identity FILE | --passphrase-file FILE) --expires-in DURATION --yes
    kms-byok rotate KEY --new-key --yes --expires-in DURATION [--alias alias/NAME] [flags]

Rotates the key material; choose the strategy explicitly.

--in-place (symmetric keys): generates new material, seals a NEW escrow version holding every
material (the old file is kept) BEFORE importing, imports it with ImportType NEW_KEY_MATERIAL,
imports the same material as EXISTING into every multi-Region replica, then RotateKeyOnDemand. The
key id and ARN stay; old ciphertexts still decrypt. AWS allows 25 on-demand rotations per key:
rotate says how many remain and refuses past the limit.

--new-key: creates a new EXTERNAL key with new material (escrowed first), moves the alias to it
(UpdateAlias) and leaves the old key enabled so old ciphertexts still decrypt.

Flags:
    --in-place | --new-key  the strategy (exactly one)
    --yes                   confirm (required when not interactive)
    --alias alias/NAME      --new-key: the alias to move (default: every alias of the old key)
    --recipient AGE_RECIPIENT  --new-key: custodians of the new key's escrow (default: the old escrow's)
    --expires-in / --valid-to / --no-expiry   expiry of the new material
${LIFECYCLE_ESCROW_FLAGS}

Example:
    $ kms-byok rotate alias/payments --in-place --yes --expires-in 365d --identity custodian.txt
`;

export const REVOKE_USAGE = `Usage:
    kms-byok revoke KEY (--all | --key-material-id ID) --yes --reason TEXT [flags]

The BYOK kill switch: DeleteImportedKeyMaterial takes effect at once; the key is unusable (PendingImport)
until restored with kms-byok restore. Refused unless the latest escrow in --escrow-dir holds every
material being deleted and its files match their hashes (with --identity or --passphrase-file it is
also opened and its check values verified). --without-escrow overrides that, loudly: without an
escrow the deletion is permanent.

Flags:
    --all                   delete every material of the key
    --key-material-id ID    delete one material
    --yes                   confirm (required when not interactive)
    --reason TEXT           why, recorded in the transcript (required)
    --without-escrow        revoke even without a verified escrow (the key may be lost for good)
${LIFECYCLE_ESCROW_FLAGS}

Example:
    $ kms-byok revoke alias/payments --all --yes --reason "incident 4711: suspected compromise"
`;

export const TRANSCRIPT_USAGE = `Usage:
    kms-byok transcript verify FILE [--head SHA256] [--json]

Checks the ceremony transcript's hash chain: every entry carries the SHA-256 of the previous one, so
an edited, removed or reordered entry is detected. Removing the last entries is only detectable with
--head (the head hash printed after the last ceremony). Exit 3 when the chain is broken.
`;

export const WIZARD_USAGE = `Usage:
    kms-byok wizard [--region REGION] [--profile NAME] [--endpoint-url URL] [--emulator] [--emulator-state FILE]
    kms-byok                      (no arguments, on a terminal)

Asks, step by step, what the flags of onboard (and of the air-gapped onboard --export-parameters,
wrap and import) would take, with safe defaults; shows the consequences before anything irreversible;
shows each step's progress, the check value for witnesses to compare, and the equivalent command
line. With nothing pointing at AWS it offers the embedded emulator (a rehearsal).

Needs a terminal: without one, with CI set or with --json it exits 2 naming the flags to use instead.
Ctrl-C or Escape at any question cancels (exit 130) with nothing created.
`;

export const WRAP_USAGE = `Usage:
    kms-byok wrap --parameters FILE (--recipient AGE_RECIPIENT... | --passphrase-file FILE) [--out FILE] [flags]

The offline step of an air-gapped ceremony (docs/air-gapped.md). Reads the parameters bundle that
onboard --export-parameters wrote, generates the material (or reads --material-file), seals it in an
escrow (written durably first), wraps it with the bundle's wrapping public key, and writes an import
bundle (create-only, mode 0600). Needs no network, no credentials and no AWS SDK.

Flags:
    --parameters FILE           the parameters bundle (step 1)
    --out FILE                  the import bundle to write (default import.json; never overwritten)
    --material-file PATH        existing material instead of generating it (as for onboard)
    --recipient [NAME=]AGE      seal the escrow to this custodian (age1…, optionally labelled alice=age1…); repeatable
    --recipients-file FILE      seal to every recipient listed in FILE
    --passphrase-file FILE      seal with the passphrase in FILE (- for stdin)
    --escrow-dir DIR            where the escrow is written (default ./escrow)
    --identity FILE             when the key already has an escrow: a custodian's age identity, so wrap
                                can open it and, if it holds exactly --material-file, write the import
                                bundle for it instead of refusing (re-running an interrupted wrap)
    --json                      print one JSON document

Example:
    $ kms-byok wrap --parameters params.json --recipient age1… --out import.json
`;

export const IMPORT_USAGE = `Usage:
    kms-byok import --bundle FILE [--key-id KEY] [--escrow-dir DIR] [target flags] [--json]

The last, online step of an air-gapped ceremony (docs/air-gapped.md). Checks the import bundle that
kms-byok wrap wrote (format, fingerprint, import token not expired, for this very key in this account
and Region), imports it, records KeyMaterialId and ValidTo in the escrow's sidecar when --escrow-dir
holds it, and verifies without the material: Enabled and Encrypt/Decrypt (symmetric), GenerateMac
against a MAC computed offline (HMAC), GetPublicKey against the public key recorded offline and a
signature that verifies with it (asymmetric).

Flags:
    --bundle FILE       the import bundle (step 2)
    --key-id KEY        refuse the bundle unless it is for this key (id, ARN or alias/NAME)
    --escrow-dir DIR    where the escrow's sidecar is (default ./escrow); optional
    --record-only       the key is already imported: only record KeyMaterialId/ValidTo in the sidecar
    --json              print one JSON document
    (and the target flags: --region, --profile, --endpoint-url, --emulator, --emulator-state)

Example:
    $ kms-byok import --bundle import.json --escrow-dir /mnt/escrow-copy
`;

export const POLICY_USAGE = `Usage:
    kms-byok policy --account ID --custodian-role ARN... [--reimport-role ARN...] [--key-user ARN...]
        [--auditor ARN...] [flags] [--json]
    kms-byok policy --identity custodian|reimport --account ID [--key-arn ARN...] [flags] [--json]

Prints a key policy for an EXTERNAL key with separation of duties (docs/key-policy.md):
the account root statement (kept always: it is what keeps the key manageable); custodians may
GetParametersForImport and ImportKeyMaterial only with the allowed wrapping and expiry, describe,
alias, rotate, tag and prove the key; the scheduled re-import role gets the same import calls plus the
reads, tags and proof reimport makes; key users encrypt/decrypt (or MAC, or sign, per key spec); auditors
describe and list. DeleteImportedKeyMaterial, ScheduleKeyDeletion and PutKeyPolicy are denied to
everyone without MFA. --json prints the policy document itself; nothing is sent to AWS.

Flags:
    --account ID                  the key's 12-digit account (its root keeps the key manageable)
    --partition P                 aws (default), aws-cn, aws-us-gov
    --custodian-role ARN          key custodian role or user (repeatable; at least one)
    --reimport-role ARN           the scheduled re-import role (repeatable)
    --key-user ARN                may use the key (repeatable)
    --auditor ARN                 may describe and list (repeatable)
    --key-spec SPEC               SYMMETRIC_DEFAULT (default), HMAC_*, RSA_*, ECC_* (decides the key users' calls)
    --key-usage USAGE             default per spec, as onboard picks it
    --wrapping-algorithm ALG      allowed kms:WrappingAlgorithm (repeatable; default RSAES_OAEP_SHA_256
                                  and RSA_AES_KEY_WRAP_SHA_256)
    --wrapping-key-spec SPEC      allowed kms:WrappingKeySpec (repeatable; default RSA_4096)
    --expiration-model MODEL      KEY_MATERIAL_EXPIRES (default) or KEY_MATERIAL_DOES_NOT_EXPIRE
    --max-valid-to-days N         kms:ValidTo bound: now + N days (default 365; a fixed instant: regenerate
                                  the policy before it)
    --valid-to-max TIME           kms:ValidTo bound as an ISO-8601 UTC time instead
    --identity custodian|reimport print the identity policy for that role instead of the key policy
    --key-arn ARN                 with --identity: the keys it covers (default every key of the account)
    --region REGION               with --identity: the Region of the default key and alias resources
    --no-root                     refused: a policy without the account root can lock the key for good
    --json                        print the policy document itself

Examples:
    $ kms-byok policy --account 111122223333 \\
        --custodian-role arn:aws:iam::111122223333:role/KeyCustodian \\
        --reimport-role arn:aws:iam::111122223333:role/KmsByokReimport \\
        --key-user arn:aws:iam::111122223333:role/PaymentsApp \\
        --auditor arn:aws:iam::111122223333:role/SecurityAudit --json > key-policy.json
    $ aws kms put-key-policy --key-id alias/payments --policy file://key-policy.json   # with MFA
    $ kms-byok policy --identity reimport --account 111122223333 --json > reimport-role.json
`;

export const SCHEDULE_USAGE = `Usage:
    kms-byok schedule --print systemd|cron|kubernetes (--key KEY... | --plan FILE)
        (--identity FILE | --passphrase-file FILE) [--escrow-dir DIR] [flags] [--json]

Prints a ready schedule for the unattended re-import (docs/scheduling.md):
    kms-byok reimport KEY... --before 30d --expires-in 90d --identity FILE --escrow-dir DIR
systemd: a oneshot service (the identity passed read-only through LoadCredential=) and its timer;
cron: one crontab line; kubernetes: a batch/v1 CronJob (YAML; --json prints it as JSON), the identity
mounted read-only from a Secret. Refused with exit 2: a schedule that would prompt (no --identity or
--passphrase-file, or --passphrase-file -), or a --command that is not unattended.

Flags:
    --print FORMAT            systemd, cron or kubernetes
    --command CMD             reimport (default) or status (exit 3 when a key needs attention)
    --key KEY                 key id, ARN or alias/NAME (repeatable)
    --plan FILE               keys listed one per line (# comments), read now
    --before DURATION         re-import keys whose ValidTo is within DURATION (default 30d)
    --expires-in DURATION     the new expiry (default 90d; must be longer than --before)
    --identity FILE           age identity that opens the escrows (mounted read-only)
    --passphrase-file FILE    passphrase file instead
    --escrow-dir DIR          escrow directory (writable; default ./escrow, /var/lib/kms-byok/escrow in k8s)
    --region REGION           AWS Region of the keys
    --profile NAME            AWS profile (systemd and cron)
    --on-calendar EXPR        systemd OnCalendar (default "*-*-* 03:17:00")
    --cron EXPR               cron and kubernetes schedule (default "17 3 * * *")
    --image IMAGE             kubernetes: the container image (required)
    --name NAME               unit / CronJob name (default kms-byok-reimport)
    --bin PATH                kms-byok executable (default /usr/local/bin/kms-byok; kms-byok in k8s)
    --user USER               systemd User= (default kms-byok)
    --log FILE                cron: log file (default /var/log/kms-byok/reimport.log)
    --service-account NAME    kubernetes: ServiceAccount with the re-import role (default NAME)
    --secret NAME             kubernetes: Secret holding the identity (default NAME-identity)
    --escrow-claim NAME       kubernetes: PersistentVolumeClaim of the escrow (default NAME-escrow)
    --json                    print the result as JSON

Exit codes of the scheduled run: 0 re-imported or not due, 1 failed (the next run retries; alert),
2 configuration error (fix the schedule; never retried), 3 status found something to act on.

Examples:
    $ kms-byok schedule --print systemd --key alias/payments --identity /etc/kms-byok/custodian.txt \\
        --escrow-dir /var/lib/kms-byok/escrow --region eu-west-1
    $ kms-byok schedule --print kubernetes --key alias/payments --identity custodian.txt \\
        --image registry.example.com/kms-byok:0.1.0 --region eu-west-1 > cronjob.yaml
`;

export const VERIFY_USAGE = `Usage:
    kms-byok verify KEY (--identity FILE... | --passphrase-file FILE) [--escrow-dir DIR | --escrow FILE] [--json]

Proves that KMS holds exactly what the key's escrow holds, without changing anything: every material
KMS lists must be in the escrow; each symmetric material is re-imported under its KeyMaterialId with
the expiry KMS already has (KMS accepts only the very same material); and the current material is
shown in use — Encrypt/Decrypt (symmetric), GenerateMac against a local HMAC (HMAC), GetPublicKey
against the local public key and a KMS signature verified locally (RSA, ECC).
Exit 0 when proven, 3 when KMS and the escrow disagree, 1 when it could not be checked.

Example:
    $ kms-byok verify alias/payments --identity custodian.txt --escrow-dir ./escrow --region eu-west-1
`;
