import type { PluginEvent } from './event';
import { captureEnvelope, eventNormalizer, type UuidSeed } from './normalize';

/**
 * A capture request as the intake accepted it: the body as the client sent it (decoded, checked,
 * not normalized) and what normalizing it needs from the request. The intake queues requests in
 * this form and the first hop's consumer normalizes them (ingestedEvents), so the intake neither
 * builds normalized events nor serializes them: it writes the body's own JSON text into the job.
 * Everything normalization reads is fixed here (the time, the address, the project's IP option,
 * the uuid seed), so it gives the same events on every attempt.
 */
export interface IngestedRequest {
  /** The parsed capture body (captureEnvelope's shapes); for /engage, already turned into events. */
  body: unknown;
  ip: string | null;
  anonymizeIp: boolean;
  /** The project's number (the events' team_id); absent in jobs queued by intakes older than it, which give 0. */
  teamId?: number;
  /** When the intake received it, ms since the epoch: the events' `now` and clock-skew reference. */
  now: number;
  uuidSeed: UuidSeed;
}

/** The events of an accepted request, normalized (PostHog's PluginEvent shape). */
export function ingestedEvents(request: IngestedRequest): PluginEvent[] {
  const { events, envelope } = captureEnvelope(request.body);
  const normalize = eventNormalizer({
    teamId: request.teamId ?? 0,
    ip: request.ip,
    anonymizeIp: request.anonymizeIp,
    now: new Date(request.now),
    sentAt: envelope.sent_at,
    uuidSeed: request.uuidSeed,
  });
  return events.map(normalize);
}

/**
 * An IngestedRequest's JSON text given its body's JSON text, in two pieces: everything before the
 * body, and the body's text as it is (any JSON text is a JSON value, so it nests unchanged). The
 * request ends with `}` after the body; serializedPipelineJob writes the pieces.
 */
export interface IngestedRequestText {
  head: string;
  /** The body's JSON text, or its UTF-8 bytes. */
  body: string | Buffer;
}

export function ingestedRequestText(request: Omit<IngestedRequest, 'body'> & { teamId: number }, bodyJson: string | Buffer): IngestedRequestText {
  const { ip, anonymizeIp, teamId, now, uuidSeed } = request;
  // Written by hand (the same text JSON.stringify gives): it runs once per request, and the
  // generic stringify of a small object showed as ~2.5% of the intake's /capture profile.
  const head = `{"ip":${ip === null ? 'null' : JSON.stringify(ip)},"anonymizeIp":${anonymizeIp},"teamId":${teamId},"now":${now},"uuidSeed":[${uuidSeed[0]},${uuidSeed[1]},${uuidSeed[2]}],"body":`;
  return { head, body: bodyJson };
}
