/**
 * The one parser of AWS identifiers kms-byok reads from users, files and KMS answers: key ARNs, key
 * ids, alias names, Regions and account ids. Every module of `src/` (the emulator excepted: it is an
 * independent oracle) asks here instead of keeping its own regular expression.
 *
 * Shapes follow the AWS KMS API reference ("KeyId" parameter, "AliasName") and the ARN format
 * `arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID`.
 */

/** A Region name such as us-east-1, eu-west-3, us-gov-west-1 or ap-southeast-4. */
const REGION = '[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}';
/** aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, … */
const PARTITION = 'aws(?:-[a-z]+)*';
const KEY_ARN_RE = new RegExp(`^arn:(${PARTITION}):kms:(${REGION}):([0-9]{12}):key/([A-Za-z0-9-]{1,128})$`);
const KEY_ID_RE = /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const REGION_RE = new RegExp(`^${REGION}$`);
const ACCOUNT_RE = /^[0-9]{12}$/;
/** AliasName: alias/ followed by 1 to 250 letters, digits, / _ - (KMS API reference, CreateAlias). */
const ALIAS_RE = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

export interface KeyArn {
  partition: string;
  region: string;
  accountId: string;
  /** The last part of the ARN as written (a UUID or mrk-… for keys KMS made; see isKeyId). */
  keyId: string;
}

/** The parts of a KMS key ARN, or undefined when `text` is not one. */
export function parseKeyArn(text: string): KeyArn | undefined {
  const m = KEY_ARN_RE.exec(text);
  return m ? { partition: m[1]!, region: m[2]!, accountId: m[3]!, keyId: m[4]! } : undefined;
}

/** Whether `text` is a KMS key id as KMS assigns them: a UUID, or mrk-… for multi-Region keys. */
export function isKeyId(text: string): boolean {
  return KEY_ID_RE.test(text);
}

/** Whether `text` is an AWS Region name (shape only: a new Region needs no release of kms-byok). */
export function isRegion(text: string): boolean {
  return REGION_RE.test(text);
}

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

/** The account and name of an IAM role ARN (`arn:aws:iam::ACCOUNT:role/[PATH/]NAME`), or undefined. */
export function parseRoleArn(text: string): { partition: string; accountId: string; roleName: string } | undefined {
  const m = ROLE_ARN.exec(text);
  return m ? { partition: m[1]!, accountId: m[2]!, roleName: m[3]! } : undefined;
}

/** Whether `text` is an STS ExternalId AWS accepts: 2–1224 characters of `[\w+=,.@:/-]`. */
export function isExternalId(text: string): boolean {
  return /^[\w+=,.@:/-]{2,1224}$/.test(text);
}

/** Whether `text` is an STS RoleSessionName AWS accepts: 2–64 characters of `[\w+=,.@-]`. */
export function isRoleSessionName(text: string): boolean {
  return /^[\w+=,.@-]{2,64}$/.test(text);
}

/** Whether `text` is a 12-digit AWS account id. */
export function isAccountId(text: string): boolean {
  return ACCOUNT_RE.test(text);
}

/** Whether `text` has the shape of an alias name KMS accepts (alias/aws/… is reserved: see isAwsAlias). */
export function isAliasName(text: string): boolean {
  return ALIAS_RE.test(text);
}

/** Whether an alias name is in the alias/aws/ namespace AWS reserves for AWS managed keys. */
export function isAwsAlias(text: string): boolean {
  return text.startsWith('alias/aws/');
}

/**
 * The key id a key reference names without asking KMS: the id itself, or the id inside a key ARN.
 * Undefined for aliases (only KMS can resolve them) and for anything else.
 */
export function keyIdOf(ref: string): string | undefined {
  if (isKeyId(ref)) return ref;
  const arn = parseKeyArn(ref);
  return arn !== undefined && isKeyId(arn.keyId) ? arn.keyId : undefined;
}

/**
 * The Region names AWS has published, as `<area>-<direction>` without the number (us-east, eu-west,
 * ap-southeast, us-gov-west, …). A Region whose area-direction is not listed is almost always a typo
 * (`eu-wset-1`); a new Region in a known area (ap-southeast-9) needs no release of kms-byok.
 */
const KNOWN_REGION_AREAS = [
  'us-east', 'us-west', 'us-gov-east', 'us-gov-west', 'us-iso-east', 'us-iso-west', 'us-isob-east', 'us-isob-west', 'us-isof-south', 'us-isof-east',
  'af-south', 'ap-east', 'ap-south', 'ap-southeast', 'ap-northeast', 'ca-central', 'ca-west', 'cn-north', 'cn-northwest',
  'eu-central', 'eu-west', 'eu-south', 'eu-north', 'eusc-de-east', 'eu-isoe-west', 'il-central', 'me-south', 'me-central', 'mx-central', 'sa-east',
];

/**
 * Why `text` is not a plausible AWS Region, or undefined when it is one: not the shape of a Region,
 * or an area-direction AWS has no Region in (with the nearest known Region as a suggestion).
 */
export function regionProblem(text: string): string | undefined {
  if (!isRegion(text)) return 'is not a Region name (e.g. eu-west-1)';
  const area = text.replace(/-[0-9]{1,2}$/, '');
  if (KNOWN_REGION_AREAS.includes(area)) return undefined;
  const number = text.slice(area.length);
  let best: { area: string; d: number } | undefined;
  for (const known of KNOWN_REGION_AREAS) {
    const d = levenshtein(area, known);
    if (best === undefined || d < best.d) best = { area: known, d };
  }
  const guess = best !== undefined && best.d <= 3 ? ` (did you mean ${best.area}${number}?)` : '';
  return `is not an AWS Region${guess}`;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
