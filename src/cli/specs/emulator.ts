/** `kms-byok emulator`: declaration (flags, help, examples). The command is in ../commands/emulator.ts. */
import type { CommandSpec } from '../command-spec.js';
import { HELP_FLAG } from './shared.js';

export const EMULATOR: CommandSpec = {
  name: 'emulator',
  summary: 'serve the KMS emulator on 127.0.0.1 for rehearsals spanning several commands',
  usage: [
    'emulator [--port N] [--region REGION] [--state-file FILE] [--quota default|SCALE]',
    '    [--latency MIN-MAXms] [--fault OPERATION:KIND[:TIMES]]... [--wrapping-pool N]',
    '    [--unwrap-engine node-forge|openssl] [--clock-offset DURATION]',
    '    [--account ID]... [--role ROLE_ARN[:EXTERNAL_ID]]... [--management-account ID] [--json]',
    'emulator advance-clock DURATION --endpoint-url URL [--json]',
  ],
  description: `Serves the embedded KMS emulator on 127.0.0.1 until interrupted (Ctrl-C). It speaks the AWS KMS
JSON protocol, so kms-byok, the AWS CLI and any SDK work against it with dummy credentials. It
answers only requests addressed to a loopback name (Host: localhost, 127.x.x.x or [::1]), so a web
page cannot reach it by DNS rebinding.

Rehearsal time: the emulator has its own clock (material expires when it passes ValidTo).
--clock-offset starts it ahead of real time; \`emulator advance-clock 30d --endpoint-url URL\` moves a
running emulator's clock (saved in its --state-file). kms-byok commands against an emulator read its
clock, so status, reimport --before and every ValidTo follow the rehearsal's time.`,
  flags: {
    port: { type: 'string', value: 'N', help: 'port to listen on (default 4566; 0 picks a free one)' },
    region: { type: 'string', value: 'REGION', help: 'default Region for requests that carry none (default us-east-1)' },
    'state-file': { type: 'string', value: 'FILE', help: "load and save the emulator's state in FILE (mode 0600, never through a\nsymbolic link); it holds imported key material and wrapping private keys in\nthe clear: rehearsals only" },
    quota: {
      type: 'string',
      value: 'default|SCALE',
      help: "default: enforce AWS KMS's default request quotas per Region (GetParametersForImport\n1/s, ImportKeyMaterial 15/s, CreateKey 5/s...); over it: ThrottlingException;\nSCALE: the same quotas times SCALE (80: 80x AWS's, to rehearse a raised quota)",
    },
    latency: { type: 'string', value: 'MIN-MAXms', help: 'wait MIN to MAX ms (uniform) before answering each request, e.g. 20-60ms' },
    fault: {
      type: 'string',
      multiple: true,
      value: 'OP:KIND[:TIMES]',
      help: `inject a fault into the next TIMES (default 1, or "always") requests of
operation OP (* for all). KIND: throttle; internal (KMSInternalException);
http500 (bare 500); latency (60 s, or OP:latency:TIMES:30s); drop-before
(connection closed, nothing done); drop-after (done, connection closed
unanswered); drip (done, answered one byte a second, or OP:drip:TIMES:250ms);
loop-marker (List* answers Truncated with the same marker forever).
Repeatable. Live: X-Amz-Target KmsByokEmulator.InjectFault`,
    },
    'wrapping-pool': { type: 'string', value: 'N', help: 'RSA wrapping key pairs kept ready per spec (default 2)' },
    'unwrap-engine': {
      type: 'string',
      value: 'E',
      help: "how ImportKeyMaterial decrypts RSA: node-forge (default; pure JavaScript,\nindependent of kms-byok's OpenSSL wrapping, ~0.2 s per RSA-4096 import) or\nopenssl (Node's crypto, ~100x faster: for large rehearsals and benchmarks)",
    },
    account: { type: 'string', multiple: true, value: 'ID', help: 'declare an account of the organisation (Organizations ListAccounts lists it;\nrepeatable)' },
    role: {
      type: 'string',
      multiple: true,
      value: 'ARN[:EXT_ID]',
      help: `let STS AssumeRole assume this role (arn:aws:iam::ACCOUNT:role/NAME), only
with ExternalId EXT_ID when given; its credentials act in ACCOUNT (keys,
aliases and quotas apart per account). Repeatable. Live: X-Amz-Target
KmsByokEmulator.DeclareRole`,
    },
    'management-account': { type: 'string', value: 'ID', help: "the organisation's management account, the only one ListAccounts answers\n(default: the emulator's own, 111122223333)" },
    'clock-offset': { type: 'string', value: 'DURATION', help: "start with the emulator clock DURATION ahead of real time, e.g. 90d" },
    'endpoint-url': { type: 'string', value: 'URL', help: 'advance-clock: the running emulator (also AWS_ENDPOINT_URL_KMS)' },
    json: { type: 'boolean', help: 'print one JSON line { schemaVersion, endpoint, port } once listening\n(docs/schemas/emulator.schema.json); advance-clock: the new time' },
    ...HELP_FLAG,
  },
  examples: [
    `# an organisation: two member accounts reached through roles (one with an external id)
$ kms-byok emulator --port 4566 --role arn:aws:iam::222222222222:role/KmsByok \\
    --role arn:aws:iam::333333333333:role/KmsByok:ext-3333`,
    `# rehearse expiry: 31 days later by the emulator's clock, status says the key expired (exit 3)
$ kms-byok emulator advance-clock 31d --endpoint-url http://127.0.0.1:4566
$ kms-byok status --endpoint-url http://127.0.0.1:4566`,
    `$ kms-byok emulator --port 4566 --state-file rehearsal.json &
$ export AWS_ENDPOINT_URL_KMS=http://127.0.0.1:4566
$ kms-byok onboard --yes --expires-in 30d --passphrase-file pass.txt
$ aws kms describe-key --key-id alias/payments --endpoint-url http://127.0.0.1:4566`,
    `# failure drill: AWS's quotas and latency; an import reaches KMS but its answer is lost
$ kms-byok emulator --port 4566 --state-file drill.json --quota default --latency 20-60ms \\
    --fault ImportKeyMaterial:drop-after:1 --fault GetParametersForImport:throttle:2 &
$ export AWS_ENDPOINT_URL_KMS=http://127.0.0.1:4566
$ kms-byok onboard --yes --expires-in 30d --passphrase-file pass.txt
$ curl -s http://127.0.0.1:4566/ -H 'X-Amz-Target: KmsByokEmulator.InjectFault' \\
    -d '{"Operation":"CreateKey","Kind":"internal","Times":1}'    # one more fault, live`,
  ],
};
