import { identityInput, type PendingEvent } from '../ingest.core.ts';
import type { MappedDelivery } from './connector.types.ts';

/** A WhatsApp address ("whatsapp:+14155550123") as its E.164 number, or null for other channels. */
export function whatsappNumber(address: string | null): string | null {
  if (!address) return null;
  const m = /^whatsapp:(\+?\d{6,16})$/.exec(address.trim());
  if (!m) return null;
  return m[1]!.startsWith('+') ? m[1]! : `+${m[1]}`;
}

/**
 * Maps a Twilio WhatsApp webhook (form parameters) to a Loupe event. An inbound message (Body present, no
 * MessageStatus) is `whatsapp_message` from the sender; a status callback (MessageStatus) is
 * `whatsapp_message_status` about the recipient, one per (message, status). The message text is not stored:
 * only its length and the number of media, so a chat transcript never lands in the event store.
 */
export function mapTwilio(params: URLSearchParams, now: Date): MappedDelivery {
  const sid = params.get('MessageSid') ?? params.get('SmsMessageSid');
  if (!sid) return { events: [], profiles: [], ignored: 'no MessageSid' };
  const status = params.get('MessageStatus') ?? params.get('SmsStatus');
  const inbound = !params.has('MessageStatus') && params.has('Body');
  const party = whatsappNumber(inbound ? params.get('From') : params.get('To'));
  if (!party) return { events: [], profiles: [], ignored: 'not a WhatsApp message' };
  const traits: Record<string, unknown> = {};
  const profileName = params.get('ProfileName');
  if (inbound && profileName) traits.name = profileName.slice(0, 200);
  const identity = identityInput([{ type: 'whatsapp', value: party }], 'whatsapp', now, { traits, eventRef: `twilio:${sid}` });
  const ev: PendingEvent = inbound
    ? {
        row: {
          eventId: `twilio:${sid}`,
          type: 'whatsapp_message',
          source: 'whatsapp',
          metadata: {
            direction: 'inbound',
            body_length: (params.get('Body') ?? '').length,
            num_media: Number(params.get('NumMedia') ?? 0) || 0,
            message_sid: sid,
          },
          occurredAt: now,
        },
        identity,
      }
    : {
        row: {
          eventId: `twilio:${sid}:${status ?? 'unknown'}`,
          type: 'whatsapp_message_status',
          source: 'whatsapp',
          metadata: { status: status?.slice(0, 40) ?? null, message_sid: sid, error_code: params.get('ErrorCode') },
          occurredAt: now,
        },
        identity,
      };
  return { events: [ev], profiles: [] };
}

/** The delivery id of a Twilio callback: one per message for inbound, one per (message, status) for callbacks. */
export function twilioDeliveryId(params: URLSearchParams): string | null {
  const sid = params.get('MessageSid') ?? params.get('SmsMessageSid');
  if (!sid) return null;
  const status = params.get('MessageStatus');
  return status ? `${sid}:${status}` : sid;
}
