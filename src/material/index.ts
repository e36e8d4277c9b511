/** Key material: the key-spec table, generation, parsing and check values. Explicit re-exports only. */

export {
  IMPORTABLE_KEY_SPECS,
  assertKeyUsageAllowed,
  assertWrappingAllowed,
  chooseWrapping,
  describeWrappings,
  importableKeySpecInfo,
  isWrappingAllowed,
  keySpecInfo,
  parseKeySpec,
  parseKeyUsage,
  parseWrappingAlgorithm,
  parseWrappingKeySpec,
  validWrappings,
  type HashName,
  type ImportableKeySpecInfo,
  type KeyKind,
  type KeySpecInfo,
  type MaterialShape,
  type NotImportableKeySpecInfo,
  type WrappingChoice,
  type WrappingRefusal,
} from './key-specs.js';
export { generateKeyMaterial } from './generate.js';
export { assertMaterialMatchesSpec, parseMaterial } from './parse.js';
export {
  CHECK_VALUE_METHODS,
  aesCmac,
  checkValue,
  checkValueMethods,
  defaultCheckValueMethod,
  parseCheckValue,
  publicKeyFromMaterial,
  verifyCheckValue,
  type CheckValue,
  type CheckValueMethod,
} from './check-value.js';
