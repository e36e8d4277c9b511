/**
 * The operation table: X-Amz-Target → handler. One function per operation; the service prefix is
 * `TrentService` for KMS (as AWS's JSON 1.1 protocol names it) and `KmsByokEmulator` for controls.
 *
 * Contract: a name maps to its handler only as an own property of these tables (the server checks
 * `Object.hasOwn`), so no request can reach `Object.prototype`.
 */
import type { Handler } from '../context.js';
import { createAlias, deleteAlias, listAliases, updateAlias } from './aliases.js';
import { advanceClock, clearFaults, declareAccountOp, declareRoleOp, getClock, injectFault, listFaults } from './control.js';
import { decrypt, encrypt, generateDataKey, generateMac, getPublicKey, sign, verify, verifyMac } from './crypto.js';
import { deleteImportedKeyMaterial, getParametersForImport, importKeyMaterial } from './import.js';
import { cancelKeyDeletion, createKey, describeKey, disableKey, enableKey, listKeys, scheduleKeyDeletion, updateKeyDescription } from './keys.js';
import { getKeyPolicy, putKeyPolicy } from './policy.js';
import { replicateKey } from './replicate.js';
import { assumeRole, getCallerIdentity } from './sts.js';
import { listAccounts } from './organizations.js';
import { listKeyRotations, rotateKeyOnDemand } from './rotation.js';
import { listResourceTags, tagResource, untagResource } from './tags.js';
import { CLOUDTRAIL_PREFIX, CLOUDTRAIL_SDK_PREFIX, getKeyLastUsage, lookupEvents } from '../trail.js';

/** KMS operations, by name. */
export const KMS_OPERATIONS: Readonly<Record<string, Handler>> = {
  CreateKey: createKey,
  DescribeKey: describeKey,
  ListKeys: listKeys,
  UpdateKeyDescription: updateKeyDescription,
  EnableKey: enableKey,
  DisableKey: disableKey,
  ScheduleKeyDeletion: scheduleKeyDeletion,
  CancelKeyDeletion: cancelKeyDeletion,
  CreateAlias: createAlias,
  UpdateAlias: updateAlias,
  DeleteAlias: deleteAlias,
  ListAliases: listAliases,
  GetParametersForImport: getParametersForImport,
  ImportKeyMaterial: importKeyMaterial,
  DeleteImportedKeyMaterial: deleteImportedKeyMaterial,
  Encrypt: encrypt,
  Decrypt: decrypt,
  GenerateDataKey: generateDataKey,
  GenerateMac: generateMac,
  VerifyMac: verifyMac,
  Sign: sign,
  Verify: verify,
  GetPublicKey: getPublicKey,
  RotateKeyOnDemand: rotateKeyOnDemand,
  ListKeyRotations: listKeyRotations,
  ReplicateKey: replicateKey,
  GetKeyPolicy: getKeyPolicy,
  PutKeyPolicy: putKeyPolicy,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListResourceTags: listResourceTags,
  GetKeyLastUsage: getKeyLastUsage,
};

/** CloudTrail operations (the emulator's trail of KMS events: ../trail.ts), by name. */
export const CLOUDTRAIL_OPERATIONS: Readonly<Record<string, Handler>> = {
  LookupEvents: lookupEvents,
};

/** Emulator control operations, by name. */
export const CONTROL_OPERATIONS: Readonly<Record<string, Handler>> = {
  AdvanceClock: advanceClock,
  GetClock: getClock,
  InjectFault: injectFault,
  ClearFaults: clearFaults,
  ListFaults: listFaults,
  DeclareAccount: declareAccountOp,
  DeclareRole: declareRoleOp,
};

/** AWS Organizations operations (answered from the declared directory, directory.ts), by name. */
export const ORGANIZATIONS_OPERATIONS: Readonly<Record<string, Handler>> = {
  ListAccounts: listAccounts,
};


/**
 * The AWS JSON 1.1 services the emulator answers, by `X-Amz-Target` prefix (the part before the last
 * dot). Another AWS service the product calls adds its prefix here with its own table.
 */
export const JSON_SERVICES: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  TrentService: KMS_OPERATIONS,
  KmsByokEmulator: CONTROL_OPERATIONS,
  AWSOrganizationsV20161128: ORGANIZATIONS_OPERATIONS,
  [CLOUDTRAIL_PREFIX]: CLOUDTRAIL_OPERATIONS,
  [CLOUDTRAIL_SDK_PREFIX]: CLOUDTRAIL_OPERATIONS,
};

/** AWS Query operations (STS), by `Action`. Their results are rendered as XML by `query-protocol.ts`. */
export const QUERY_OPERATIONS: Readonly<Record<string, Handler>> = {
  GetCallerIdentity: getCallerIdentity,
  AssumeRole: assumeRole,
};
