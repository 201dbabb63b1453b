export {
  formatRef,
  loadSchemaCatalog,
  parseAvroSchema,
  parseRef,
  schemaCatalog,
  SCHEMA_DIR,
  SCHEMA_HEADER,
  type SchemaCatalog,
  type SchemaVersion,
} from './catalog.ts';
export {
  CONFLUENT_MAGIC,
  confluentFrame,
  createRecordCodec,
  decodeAvro,
  encodeAvro,
  headerText,
  resolverFor,
  type EncodedMessage,
  type EncodeOptions,
  type FieldProblem,
  type MessageHeaders,
  type RecordCodec,
  type RecordCodecSpec,
} from './wire.ts';
export {
  createConfluentSchemaRegistry,
  createStaticSchemaRegistry,
  type ConfluentSchemaRegistryOptions,
  type SchemaRegistry,
} from './registry.ts';
export {
  checkRequestEvent,
  decodeRequestEvent,
  encodeRequestEvent,
  REQUEST_EVENT_SUBJECT,
  requestEventCodec,
  requestEventFromAvro,
  requestEventToAvro,
  type RequestEventAvro,
  type RequestEventCheckOptions,
  type RequestEventEncodeOptions,
  type RequestEventVersion,
} from './request-event.ts';
export { parseRequestEventJson, requestEventToJson } from './json.ts';
export {
  readAvroContainer,
  readCaptureFile,
  readNdjson,
  writeAvroContainer,
  writeNdjson,
} from './files.ts';
export {
  comparisonReportCodec,
  decodeComparisonReport,
  decodePromotionDecision,
  decodeShadowPair,
  encodeComparisonReport,
  encodePromotionDecision,
  encodeShadowPair,
  promotionDecisionCodec,
  shadowPairCodec,
  type ComparisonReportMessage,
  type GateResultMessage,
  type PromotionDecisionMessage,
  type ReportMetricMessage,
} from './records.ts';
