// Enum choices, from one place: the API description (GET /api/openapi.json). The server's own
// enums (statuses, connector types, phases, OEMs, roles...) and the OCPP 1.6 enums of command
// payloads (ResetType, AvailabilityType, MessageTrigger, UpdateType, ChargingProfilePurposeType)
// are all named there; the server holds the OCPP ones to the types that validate the payloads.
import { getApiDescription, schemaEnum } from './api.js';

export { schemaEnum };

/** The values of an OCPP 1.6 enum used in a command payload, e.g. "ResetType". */
export async function ocppEnum(name) {
  const doc = await getApiDescription();
  const values = doc?.components?.schemas?.[name]?.enum;
  if (!Array.isArray(values)) throw new Error(`The API description names no enum ${name}`);
  return values;
}

/** The enum schema `name` as select options [[value, label]]; `label(value)` names a value. */
export async function enumOptions(name, label = (v) => v) {
  return (await schemaEnum(name)).map((v) => [v, label(v)]);
}
