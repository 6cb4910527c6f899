// Enum choices, from one place. The server's own enums (statuses, connector types, phases, OEMs,
// roles...) come from the API description (`schemaEnum`, GET /api/openapi.json). The choices of
// OCPP 1.6 command payloads are the OCPP specification's, not evcms's: the API description takes
// those payloads as plain objects, so they are read from it when it names them and otherwise
// come from the specification's lists below (OCPP 1.6 edition 2, section 7).
import { getApiDescription, schemaEnum } from './api.js';

export { schemaEnum };

const OCPP_1_6 = {
  ResetType: ['Soft', 'Hard'],
  AvailabilityType: ['Operative', 'Inoperative'],
  MessageTrigger: ['BootNotification', 'DiagnosticsStatusNotification', 'FirmwareStatusNotification', 'Heartbeat', 'MeterValues', 'StatusNotification'],
  UpdateType: ['Full', 'Differential'],
};

/** The values of an OCPP 1.6 enum used in a command payload, e.g. "ResetType". */
export async function ocppEnum(name) {
  try {
    const doc = await getApiDescription();
    const values = doc?.components?.schemas?.[name]?.enum;
    if (Array.isArray(values)) return values;
  } catch { /* the specification's list below */ }
  if (!OCPP_1_6[name]) throw new Error(`No OCPP 1.6 enum ${name}`);
  return OCPP_1_6[name];
}
