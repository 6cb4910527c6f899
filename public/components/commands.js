// Remote commands in words: what the charger answered, or why the command did not get through.
import * as fmt from './format.js';

/** What a charger's answer `status` means, per OCPP 1.6 (the ones worth more than the word). */
const ANSWERS = {
  Accepted: 'accepted',
  Rejected: 'rejected it',
  Scheduled: 'accepted it and will do it once its connector is free (Scheduled)',
  Unlocked: 'unlocked the connector',
  UnlockFailed: 'could not unlock the connector (UnlockFailed)',
  NotSupported: 'does not support it (NotSupported)',
  Faulted: 'is faulted and cannot take the reservation',
  Occupied: 'has the connector occupied',
  Unavailable: 'has the connector unavailable',
  VersionMismatch: 'has a different list version (VersionMismatch)',
  Failed: 'failed to apply it',
  RebootRequired: 'accepted it, applied after a reboot (RebootRequired)',
};

const LABELS = {
  RemoteStartTransaction: 'Remote start',
  RemoteStopTransaction: 'Remote stop',
  Reset: 'Reset',
  UnlockConnector: 'Unlock',
  ChangeAvailability: 'Change availability',
  TriggerMessage: 'Trigger message',
  GetConfiguration: 'Get configuration',
  ChangeConfiguration: 'Change configuration',
  ReserveNow: 'Reserve',
  CancelReservation: 'Cancel reservation',
  SendLocalList: 'Send local list',
};
export const actionLabel = (action) => LABELS[action] || action;

/** "Reset: the charger accepted." from an answered command record. */
export function answerText(record) {
  const label = actionLabel(record.action);
  const r = record.response || {};
  if (record.action === 'GetConfiguration') {
    const n = (r.configurationKey || []).length;
    const unknown = (r.unknownKey || []).length;
    return `${label}: the charger reported ${n} key${n === 1 ? '' : 's'}${unknown ? `; ${unknown} unknown` : ''}.`;
  }
  if (r.status) return `${label}: the charger ${ANSWERS[r.status] || `answered ${r.status}`}.`;
  return `${label}: the charger answered.`;
}

/** Why a command failed, in a sentence, from the ApiError of POST …/commands/{action}. */
export function errorText(action, err) {
  const label = actionLabel(action);
  switch (err.code) {
    case 'charger_offline': return `${label} was not sent: the charger is not connected.`;
    case 'charger_error': {
      const e = (err.command && err.command.error) || {};
      return `${label}: the charger refused the command with an error${e.code ? ` (${e.code}${e.description ? `: ${e.description}` : ''})` : ''}.`;
    }
    case 'charger_timeout': return `${label}: the charger did not answer in time. It may still act on the command; see the command log.`;
    case 'charger_disconnected': return `${label}: the charger disconnected before answering.`;
    case 'charger_busy': return `${label} was not sent: too many commands are waiting for this charger. Try again in a moment.`;
    case 'forbidden': return `${label}: your role may not send commands.`;
    default:
      if (err.status === 422 && err.details && err.details.length) {
        return `${label} was refused: ${err.details.map((d) => `${d.field}: ${d.problem}`).join('; ')}.`;
      }
      return `${label} failed: ${err.message}`;
  }
}

/** Whether an answered command did what was asked (for the tone of its message). */
export function answeredOk(record) {
  const s = record.response && record.response.status;
  return !s || ['Accepted', 'Unlocked', 'Scheduled', 'RebootRequired'].includes(s);
}

/** One line for the command log's answer column. */
export function logAnswer(c) {
  if (c.status === 'Answered') return answerText(c).replace(/^[^:]*: /, '');
  if (c.status === 'CallError' && c.error) return `error ${c.error.code}${c.error.description ? `: ${c.error.description}` : ''}`;
  if (c.status === 'Pending') return 'waiting for the answer';
  if (c.status === 'Timeout') return 'no answer in time';
  if (c.status === 'Offline') return 'not sent: charger offline';
  if (c.status === 'Busy') return 'not sent: too many waiting';
  if (c.status === 'Disconnected') return 'charger disconnected before answering';
  return fmt.text(c.status);
}
