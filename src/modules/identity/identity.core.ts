/**
 * Identity resolution, the pure part: identifier normalization, blocking (match keys), block lists, the
 * merge rules and profile strength. No I/O, no clock.
 *
 * E-mail policy (documented contract):
 * - the stored value is trimmed, NFKC-normalized and lower-cased, `mailto:` removed; it keeps its plus-tag
 *   and dots, so the profile shows the address the person really typed;
 * - matching (the blocking key) uses the canonical mailbox: the `+tag` is removed for every domain, dots in
 *   the local part are removed for gmail.com/googlemail.com (googlemail.com is gmail.com), and a handful of
 *   frequent domain typos (gmial.com, hotmial.com, yahooo.com ...) are folded onto the real domain. So
 *   `Jane.Doe+shop@GMail.com`, `janedoe@gmail.com` and `jane.doe@gmial.com` are one mailbox.
 *
 * Phones and WhatsApp numbers are E.164 (libphonenumber-js, tenant default region for national numbers) and
 * share one blocking key, so a WhatsApp message finds the profile that gave the same number at checkout.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { divideMinor, minorToMajor as moneyMinorToMajor } from '../../platform/index.ts';

export const BUILT_IN_TYPES = ['user_id', 'email', 'phone', 'whatsapp', 'loyalty_id', 'device_id', 'anonymous_id'] as const;
export type BuiltInIdentifierType = (typeof BUILT_IN_TYPES)[number];

/** Spellings accepted for the built-in types (seed 002 calls the anonymous id `cookie_id`). */
const TYPE_ALIASES: Readonly<Record<string, BuiltInIdentifierType>> = {
  userid: 'user_id',
  customer_id: 'user_id',
  external_id: 'user_id',
  mail: 'email',
  e_mail: 'email',
  phone_number: 'phone',
  mobile: 'phone',
  whatsapp_number: 'whatsapp',
  wa_id: 'whatsapp',
  loyalty: 'loyalty_id',
  loyalty_number: 'loyalty_id',
  device: 'device_id',
  cookie_id: 'anonymous_id',
  cookie: 'anonymous_id',
  anonymousid: 'anonymous_id',
  anon_id: 'anonymous_id',
};

export const CUSTOM_IDENTIFIER_TYPE = /^[a-z][a-z0-9_]{1,39}$/;

/**
 * Confidence (0..1) that two events carrying the same value belong to one person, and priority order
 * (seed 002: phone/email highest, then loyalty id, device id, cookie id lowest). The store's own user_id is
 * authoritative and ranks first.
 */
export const DEFAULT_CONFIDENCE: Readonly<Record<BuiltInIdentifierType, number>> = {
  user_id: 1,
  email: 0.95,
  phone: 0.95,
  whatsapp: 0.9,
  loyalty_id: 0.85,
  device_id: 0.5,
  anonymous_id: 0.3,
};
export const DEFAULT_CUSTOM_CONFIDENCE = 0.6;

/** Per-profile caps per identifier type: beyond them new values are not attached (blob protection). */
export const DEFAULT_LIMITS: Readonly<Record<string, number>> = {
  user_id: 1,
  email: 5,
  phone: 5,
  whatsapp: 3,
  loyalty_id: 2,
  device_id: 20,
  anonymous_id: 50,
  '*': 10,
};

/** Values that many unrelated people send (placeholders, test data): never used to link anyone. */
export const DEFAULT_BLOCKED_VALUES: readonly string[] = [
  '',
  'null',
  'undefined',
  'none',
  'nil',
  'nan',
  'n/a',
  'na',
  '-',
  '0',
  'anonymous',
  'anon',
  'unknown',
  'guest',
  'test',
  'user',
  'default',
  '0000',
  '1234',
  '12345',
  '123456',
  '1234567',
  '12345678',
  '123456789',
  '1234567890',
  '0123456789',
  'test@test.com',
  'test@example.com',
  'email@example.com',
  'user@example.com',
  'no@email.com',
  'noemail@noemail.com',
  'none@none.com',
  'na@na.com',
  'noreply@example.com',
  '00000000-0000-0000-0000-000000000000',
];

export interface IdentitySettings {
  /** ISO 3166 region used to read national phone numbers (`415 555 2671` with `US`). */
  defaultRegion: string;
  /** Extra blocked values (compared after normalization), added to the defaults. */
  blockedValues: readonly string[];
  /** Overrides of DEFAULT_LIMITS by type (`*` = tenant-defined types). */
  limits: Readonly<Record<string, number>>;
  /** Tenant-defined identifier types and their confidence. Unknown types are refused. */
  customTypes: Readonly<Record<string, { confidence: number }>>;
  /** Most profiles one event may merge automatically (seed 002: 3). */
  maxAutoMerge: number;
  /**
   * Weak-link protection: a profile reached only through a low-confidence identifier (device, cookie) that
   * already holds its own strong identifier (e-mail, phone, user id) is not merged with, nor given, the
   * event's strong identifiers: a family tablet does not glue a household together.
   */
  protectWeakLinks: boolean;
}

/** Identifiers at or above this confidence are "strong" (user_id, email, phone, whatsapp by default). */
export const STRONG_CONFIDENCE = 0.9;

export const DEFAULT_SETTINGS: IdentitySettings = {
  defaultRegion: 'US',
  blockedValues: [],
  limits: {},
  customTypes: {},
  maxAutoMerge: 3,
  protectWeakLinks: true,
};

export interface NormalizedIdentifier {
  type: string;
  /** Normalized value as stored and shown. */
  value: string;
  /** Blocking key: values with the same key are the same identity (`mbox:`, `tel:`, or `type:value`). */
  matchKey: string;
  confidence: number;
}

export type DropReason = 'blocked' | 'invalid' | 'unknown_type' | 'empty';
export interface NormalizeOutcome {
  identifiers: NormalizedIdentifier[];
  dropped: { type: string; reason: DropReason }[];
}

export function canonicalType(type: string): string {
  const t = type
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  return TYPE_ALIASES[t] ?? t;
}

const EMAIL_SHAPE = /^[^\s@]{1,64}@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;
const DOMAIN_TYPOS: Readonly<Record<string, string>> = {
  'googlemail.com': 'gmail.com',
  'gmial.com': 'gmail.com',
  'gmai.com': 'gmail.com',
  'gmal.com': 'gmail.com',
  'gamil.com': 'gmail.com',
  'gnail.com': 'gmail.com',
  'gmail.co': 'gmail.com',
  'gmail.con': 'gmail.com',
  'gmail.cm': 'gmail.com',
  'hotmial.com': 'hotmail.com',
  'hotmal.com': 'hotmail.com',
  'hotmail.con': 'hotmail.com',
  'yaho.com': 'yahoo.com',
  'yahooo.com': 'yahoo.com',
  'yahoo.con': 'yahoo.com',
  'outlok.com': 'outlook.com',
  'outloo.com': 'outlook.com',
  'iclod.com': 'icloud.com',
};

/** Normalized e-mail (trim, NFKC, lower case, no `mailto:`), or null when it is not an address. */
export function normalizeEmail(raw: string): string | null {
  let v = raw.normalize('NFKC').trim().toLowerCase();
  if (v.startsWith('mailto:')) v = v.slice(7);
  v = v.replace(/^<(.*)>$/, '$1').trim();
  if (v.length > 254 || !EMAIL_SHAPE.test(v)) return null;
  return v;
}

/** The canonical mailbox of a normalized address: the blocking key's body (see the module comment). */
export function canonicalMailbox(email: string): string {
  const at = email.lastIndexOf('@');
  let local = email.slice(0, at);
  let domain = email.slice(at + 1);
  domain = DOMAIN_TYPOS[domain] ?? domain;
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  if (domain === 'gmail.com') local = local.replace(/\./g, '');
  return `${local}@${domain}`;
}

/** E.164 phone number, or null when the text is not a plausible number. */
export function normalizePhone(raw: string, defaultRegion: string): string | null {
  let v = raw.normalize('NFKC').trim();
  v = v.replace(/^(tel:|whatsapp:|wa:)/i, '').trim();
  if (!/\d/.test(v) || v.length > 40) return null;
  // International prefixes written as 00 / 011 when the region's own prefix differs.
  if (/^00[1-9]/.test(v.replace(/[\s().-]/g, ''))) v = `+${v.replace(/[\s().-]/g, '').slice(2)}`;
  const region = /^[A-Z]{2}$/.test(defaultRegion) ? (defaultRegion as CountryCode) : undefined;
  const parsed = parsePhoneNumberFromString(v, region ? { defaultCountry: region } : undefined);
  if (parsed && parsed.isPossible()) return parsed.number;
  // An E.164-shaped number libphonenumber cannot place (test numbers like +1234567890): keep the digits.
  const digits = v.replace(/[\s().-]/g, '');
  if (/^\+[1-9]\d{7,14}$/.test(digits)) return digits;
  return null;
}

/** Generic ids (user, loyalty, device, cookie, custom): trimmed, inner whitespace kept, case kept. */
function normalizeOpaque(raw: string): string | null {
  const v = raw.normalize('NFKC').trim();
  if (v.length === 0 || v.length > 256) return null;
  return v;
}

/** A value made of one repeated character (`0000000`, `xxxx`, `+11111111111`) is a placeholder. */
function isRepeatedPlaceholder(v: string): boolean {
  const body = v.replace(/^\+/, '').replace(/@.*$/, '');
  return body.length >= 3 && /^(.)\1+$/.test(body);
}

export function isBlockedValue(normalized: string, settings: Pick<IdentitySettings, 'blockedValues'>): boolean {
  const v = normalized.toLowerCase();
  if (DEFAULT_BLOCKED_VALUES.includes(v)) return true;
  if (settings.blockedValues.some((b) => b.trim().toLowerCase() === v)) return true;
  return isRepeatedPlaceholder(v);
}

export function confidenceOf(type: string, settings: Pick<IdentitySettings, 'customTypes'>): number {
  return (DEFAULT_CONFIDENCE as Record<string, number>)[type] ?? settings.customTypes[type]?.confidence ?? DEFAULT_CUSTOM_CONFIDENCE;
}

export function limitOf(type: string, settings: Pick<IdentitySettings, 'limits'>): number {
  return settings.limits[type] ?? DEFAULT_LIMITS[type] ?? settings.limits['*'] ?? DEFAULT_LIMITS['*']!;
}

/** Normalizes one raw identifier. Returns the identifier or why it was dropped. */
export function normalizeIdentifier(
  type: string,
  raw: unknown,
  settings: IdentitySettings,
): NormalizedIdentifier | { dropped: DropReason; type: string } {
  const t = canonicalType(type);
  const isBuiltIn = (BUILT_IN_TYPES as readonly string[]).includes(t);
  if (!isBuiltIn && !(CUSTOM_IDENTIFIER_TYPE.test(t) && settings.customTypes[t])) return { dropped: 'unknown_type', type: t };
  if (raw === null || raw === undefined) return { dropped: 'empty', type: t };
  const text = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'bigint' ? String(raw) : null;
  if (text === null || text.trim() === '') return { dropped: 'empty', type: t };
  if (isBlockedValue(text.trim(), settings)) return { dropped: 'blocked', type: t };
  let value: string | null;
  let matchKey: string;
  if (t === 'email') {
    value = normalizeEmail(text);
    if (value === null) return { dropped: 'invalid', type: t };
    matchKey = `mbox:${canonicalMailbox(value)}`;
  } else if (t === 'phone' || t === 'whatsapp') {
    value = normalizePhone(text, settings.defaultRegion);
    if (value === null) return { dropped: 'invalid', type: t };
    matchKey = `tel:${value}`;
  } else {
    value = normalizeOpaque(text);
    if (value === null) return { dropped: 'invalid', type: t };
    matchKey = `${t}:${value}`;
  }
  if (isBlockedValue(value, settings) || (t === 'email' && isBlockedValue(canonicalMailbox(value), settings)))
    return { dropped: 'blocked', type: t };
  return { type: t, value, matchKey, confidence: confidenceOf(t, settings) };
}

/** Normalizes an event's identifiers, deduplicated on (type, value), highest confidence first. */
export function normalizeIdentifiers(inputs: readonly { type: string; value: unknown }[], settings: IdentitySettings): NormalizeOutcome {
  const out = new Map<string, NormalizedIdentifier>();
  const dropped: NormalizeOutcome['dropped'] = [];
  for (const i of inputs.slice(0, 50)) {
    const n = normalizeIdentifier(i.type, i.value, settings);
    if ('dropped' in n) dropped.push({ type: n.type, reason: n.dropped });
    else out.set(`${n.type}\u0000${n.value}`, n);
  }
  const identifiers = [...out.values()].sort(
    (a, b) => b.confidence - a.confidence || a.type.localeCompare(b.type) || a.value.localeCompare(b.value),
  );
  return { identifiers, dropped };
}

// ---------------------------------------------------------------------------------------------------
// Merge rules
// ---------------------------------------------------------------------------------------------------

/** An existing identifier found through a blocking key of the event. */
export interface IdentifierMatch {
  type: string;
  value: string;
  matchKey: string;
  profileId: string;
  confidence: number;
}

/** What the planner needs to know about each matched profile. */
export interface CandidateProfile {
  id: string;
  /** Creation order (UUIDv7 ids sort by creation; created_at as ms is fine too). */
  createdRank: string;
  userIds: readonly string[];
  /** Number of identifiers per type currently attached. */
  counts: Readonly<Record<string, number>>;
}

export type ReviewReason = 'too_many_profiles' | 'conflicting_user_ids' | 'identifier_limit';

export type ResolutionPlan =
  | {
      kind: 'create';
      attach: NormalizedIdentifier[];
      skipped: NormalizedIdentifier[];
      /** Profiles of other user ids that share identifiers with the event: reviewed with the new profile. */
      review: { reason: ReviewReason; profileIds: string[] } | null;
    }
  | {
      kind: 'attach';
      targetId: string;
      /** Other profiles to merge into the target (empty: plain attach). */
      mergeIds: string[];
      /** The identifier that links each merged profile to the event (for the merge log). */
      mergeVia: Record<string, { type: string; value: string }>;
      attach: NormalizedIdentifier[];
      skipped: NormalizedIdentifier[];
      /** Profiles the rules refused to merge automatically: a review case is opened for them. */
      review: { reason: ReviewReason; profileIds: string[] } | null;
    };

/** Survivor order: a profile holding a user_id first, then the oldest. */
function survivorOrder(a: CandidateProfile, b: CandidateProfile): number {
  const au = a.userIds.length > 0 ? 0 : 1;
  const bu = b.userIds.length > 0 ? 0 : 1;
  return au - bu || (a.createdRank < b.createdRank ? -1 : a.createdRank > b.createdRank ? 1 : 0);
}

/**
 * Decides what one event does, given its normalized identifiers and the profiles they match.
 * Rules (seed 002 plus blob protection):
 * 1. No match: create a profile with the identifiers (within the limits).
 * 2. Profiles holding a user_id different from the event's user_id (or, without one, from the strongest
 *    match's user_id) are never merged: they go to review and keep their identifiers; the event's other
 *    identifiers that point at them are not moved.
 * 3. Of the remaining profiles, the target is the one holding the event's user_id, else the one matched by
 *    the highest-confidence identifier. When 2..maxAutoMerge profiles remain they merge into the survivor
 *    (a profile with a user_id, else the oldest); more go to review and the event attaches to the target.
 * 3b. With weak-link protection, profiles reached only through identifiers below STRONG_CONFIDENCE that hold a
 *    strong identifier of their own are left out when the event also has a strong side (a strong match or a
 *    new strong identifier); if nothing is left the event creates a profile.
 * 4. A merge whose combined identifiers would exceed a per-type limit goes to review instead.
 * 5. New identifiers are attached to the target while its per-type count stays within the limit.
 */
export function planResolution(
  identifiers: readonly NormalizedIdentifier[],
  matches: readonly IdentifierMatch[],
  profiles: readonly CandidateProfile[],
  settings: Pick<IdentitySettings, 'limits' | 'maxAutoMerge' | 'customTypes'> & Partial<Pick<IdentitySettings, 'protectWeakLinks'>>,
): ResolutionPlan {
  const byId = new Map(profiles.map((p) => [p.id, p]));
  const matchedKeys = new Set(matches.map((m) => `${m.type}\u0000${m.value}`));
  const fresh = identifiers.filter((i) => !matchedKeys.has(`${i.type}\u0000${i.value}`));
  const eventUserIds = identifiers.filter((i) => i.type === 'user_id').map((i) => i.value);
  const eventUserId = eventUserIds[0];
  // Strongest first: confidence, then the identifier text (deterministic).
  const ordered = [...matches]
    .filter((m) => byId.has(m.profileId))
    .sort((a, b) => b.confidence - a.confidence || a.matchKey.localeCompare(b.matchKey));

  if (ordered.length === 0) {
    return {
      kind: 'create',
      ...limitAttach(
        null,
        fresh.filter((i) => i.type !== 'user_id' || i.value === eventUserId),
        settings,
      ),
      review: null,
    };
  }

  // The user_id that anchors this event: the event's own, else the strongest matched profile carrying one.
  let anchorUser = eventUserId;
  if (anchorUser === undefined) {
    for (const m of ordered) {
      const u = byId.get(m.profileId)!.userIds[0];
      if (u !== undefined) {
        anchorUser = u;
        break;
      }
    }
  }
  const conflicting = new Set<string>();
  for (const p of profiles) if (anchorUser !== undefined && p.userIds.some((u) => u !== anchorUser)) conflicting.add(p.id);
  let mergeable = ordered.filter((m) => !conflicting.has(m.profileId));
  if (settings.protectWeakLinks !== false && mergeable.length > 0) {
    const strongType = (t: string) => confidenceOf(t, settings) >= STRONG_CONFIDENCE;
    const bestLink = new Map<string, number>();
    for (const m of mergeable) bestLink.set(m.profileId, Math.max(bestLink.get(m.profileId) ?? 0, m.confidence));
    const strongSide = [...bestLink.values()].some((c) => c >= STRONG_CONFIDENCE) || fresh.some((i) => i.confidence >= STRONG_CONFIDENCE);
    if (strongSide) {
      const weakOwned = new Set(
        [...bestLink]
          .filter(([id, c]) => c < STRONG_CONFIDENCE && Object.entries(byId.get(id)!.counts).some(([t, n]) => n > 0 && strongType(t)))
          .map(([id]) => id),
      );
      mergeable = mergeable.filter((m) => !weakOwned.has(m.profileId));
      if (mergeable.length === 0 && conflicting.size === 0) {
        const fresh2 = fresh.filter((i) => i.type !== 'user_id' || i.value === eventUserId);
        return { kind: 'create', ...limitAttach(null, fresh2, settings), review: null };
      }
    }
  }
  const mergeableIds = [...new Set(mergeable.map((m) => m.profileId))];

  if (mergeableIds.length === 0) {
    // Only possible when the event names a user_id no matched profile holds: that user gets its own profile,
    // the shared lower-priority identifiers stay where they are, and the would-be merge goes to review.
    return {
      kind: 'create',
      ...limitAttach(null, fresh, settings),
      review: { reason: 'conflicting_user_ids', profileIds: [...conflicting].sort() },
    };
  }

  const userTarget =
    eventUserId !== undefined ? mergeable.find((m) => m.type === 'user_id' && m.value === eventUserId)?.profileId : undefined;
  const target = userTarget ?? mergeable[0]!.profileId;
  const conflictReview =
    conflicting.size > 0 ? { reason: 'conflicting_user_ids' as const, profileIds: [...new Set([target, ...conflicting])].sort() } : null;

  if (mergeableIds.length > settings.maxAutoMerge) {
    const attach = limitAttach(byId.get(target)!, fresh, settings);
    return {
      ...attach,
      kind: 'attach',
      targetId: target,
      mergeIds: [],
      mergeVia: {},
      review: { reason: 'too_many_profiles', profileIds: [...mergeableIds].sort() },
    };
  }

  if (mergeableIds.length === 1) {
    const plan = limitAttach(byId.get(target)!, fresh, settings);
    return { ...plan, kind: 'attach', targetId: target, mergeIds: [], mergeVia: {}, review: conflictReview };
  }

  // Merge: survivor by rule, combined counts must stay within limits.
  const group = mergeableIds.map((id) => byId.get(id)!).sort(survivorOrder);
  const survivor = group[0]!;
  const combined: Record<string, number> = {};
  for (const p of group) for (const [t, n] of Object.entries(p.counts)) combined[t] = (combined[t] ?? 0) + n;
  const overLimit = Object.entries(combined).some(([t, n]) => n > limitOf(t, settings));
  if (overLimit) {
    const plan = limitAttach(byId.get(target)!, fresh, settings);
    return {
      ...plan,
      kind: 'attach',
      targetId: target,
      mergeIds: [],
      mergeVia: {},
      review: { reason: 'identifier_limit', profileIds: [...mergeableIds].sort() },
    };
  }
  const mergeIds = group.slice(1).map((p) => p.id);
  const mergeVia: Record<string, { type: string; value: string }> = {};
  for (const id of mergeIds) {
    const m = mergeable.find((x) => x.profileId === id)!;
    mergeVia[id] = { type: m.type, value: m.value };
  }
  const plan = limitAttach({ counts: combined }, fresh, settings);
  return { ...plan, kind: 'attach', targetId: survivor.id, mergeIds, mergeVia, review: conflictReview };
}

function limitAttach(
  profile: Pick<CandidateProfile, 'counts'> | null,
  fresh: readonly NormalizedIdentifier[],
  settings: Pick<IdentitySettings, 'limits'>,
): { attach: NormalizedIdentifier[]; skipped: NormalizedIdentifier[] } {
  const counts: Record<string, number> = { ...(profile?.counts ?? {}) };
  const attach: NormalizedIdentifier[] = [];
  const skipped: NormalizedIdentifier[] = [];
  for (const i of fresh) {
    const n = counts[i.type] ?? 0;
    if (n < limitOf(i.type, settings)) {
      attach.push(i);
      counts[i.type] = n + 1;
    } else skipped.push(i);
  }
  return { attach, skipped };
}

// ---------------------------------------------------------------------------------------------------
// Profile strength
// ---------------------------------------------------------------------------------------------------

export interface StrengthInput {
  /** Confidence of each attached identifier. */
  identifierConfidences: readonly { type: string; confidence: number }[];
  totalOrders: number;
  eventCount: number;
  channelCount: number;
}

/**
 * profile_strength, 0..100, an integer:
 * - identity (up to 70): for each identifier type present, its best confidence × 40, summed, capped at 70
 *   (user_id + e-mail = 78 → 70; a lone cookie = 12);
 * - activity (up to 30): min(15, 5 × orders) + min(10, 2 × events) + min(5, 2.5 × (channels − 1)).
 * Monotone: adding an identifier, an order, an event or a channel never lowers it.
 */
export function profileStrength(s: StrengthInput): number {
  const best = new Map<string, number>();
  for (const i of s.identifierConfidences) best.set(i.type, Math.max(best.get(i.type) ?? 0, i.confidence));
  let identity = 0;
  for (const c of best.values()) identity += c * 40;
  identity = Math.min(70, identity);
  return Math.max(0, Math.min(100, Math.round(identity + activityPoints(s))));
}

type ActivityInput = Omit<StrengthInput, 'identifierConfidences'>;

function activityPoints(s: ActivityInput): number {
  return (
    Math.min(15, 5 * Math.max(0, s.totalOrders)) +
    Math.min(10, 2 * Math.max(0, s.eventCount)) +
    Math.min(5, 2.5 * Math.max(0, s.channelCount - 1))
  );
}

/**
 * profile_strength once only activity changed (events, orders, channels; identifiers unchanged), from the stored
 * strength, without reading identifiers: the identity part stays and round(x + k) = round(x) + k for a whole k.
 * Null when the activity part moved by a fraction (a second channel, +2.5): then recompute in full.
 */
export function strengthAfterActivity(stored: number, before: ActivityInput, after: ActivityInput): number | null {
  const delta = activityPoints(after) - activityPoints(before);
  return Number.isInteger(delta) ? stored + delta : null;
}

/**
 * Minor units (exact bigint text) to a major-unit number for display (`lifetime_value`), with the currency's
 * ISO 4217 exponent (platform money module). No currency is USD, as events read amounts without one.
 */
export function minorToMajor(minor: string | bigint, currency: string | null | undefined): number {
  return moneyMinorToMajor(minor, currency || 'USD');
}

/** Average order value in major units: net minor units over orders, rounded half to even to a whole minor unit. */
export function averageOrderMajor(netMinor: string | bigint, orders: number, currency: string | null | undefined): number | null {
  return orders > 0 ? minorToMajor(divideMinor(BigInt(netMinor), BigInt(orders)), currency) : null;
}

/**
 * The blocking keys a value could be under any identifier type (a search with no type): e-mail, phone,
 * user id, loyalty id, device and anonymous ids and the tenant's custom types, each where the value is valid
 * for it. A bare number is tried as every id and, only when it parses as one, also as a phone: six or more
 * digits are not assumed to be a phone number.
 */
export function candidateKeys(value: string, settings: IdentitySettings): { type: string; matchKey: string }[] {
  const out = new Map<string, string>();
  const types = [...BUILT_IN_TYPES.filter((t) => t !== 'whatsapp'), ...Object.keys(settings.customTypes)];
  for (const t of types) {
    const n = normalizeIdentifier(t, value, settings);
    if ('dropped' in n) continue;
    if (!out.has(n.matchKey)) out.set(n.matchKey, t);
  }
  return [...out.entries()].map(([matchKey, type]) => ({ type, matchKey }));
}
