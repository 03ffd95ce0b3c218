// The JSON shapes of tracehound's API (api/*.go, apimap, triage, state).
// Only the fields the UI reads are declared.

export type Role = 'viewer' | 'analyst' | 'admin' | '';

export interface Me {
  kind: string;
  name: string;
  role: Role;
  user?: string;
  csrf_token?: string;
  expires_at?: string;
  must_change_password?: boolean;
  auth_enabled: boolean;
}

export interface Status {
  version: string;
  spans: number;
  oldest?: string;
  newest?: string;
  disk_bytes: number;
  data: string;
  retention_days: number;
}

export type Row = Record<string, unknown>;

export interface QueryResult {
  sql: string;
  columns: string[];
  types: string[];
  rows: Row[];
  row_count: number;
  truncated: boolean;
  elapsed_ms: number;
}

export interface AskTimeline extends QueryResult {
  bucket: string;
  args: unknown[];
}

export interface AskResult extends QueryResult {
  question: string;
  interpretation: string;
  ir: string;
  args: unknown[];
  timeline: AskTimeline | null;
  notes: string[];
  sql_only: boolean;
}

export interface Caller { id: string; hits: number }

export interface Endpoint {
  id: string;
  service: string;
  method: string;
  template: string;
  hosts?: string[];
  source?: string;
  first_seen?: string;
  last_seen?: string;
  hits: number;
  documented: boolean;
  operation_id?: string;
  shadow: boolean;
  shadow_reason?: string;
  zombie: boolean;
  zombie_kind?: string;
  drift?: { kind: string; spec_path: string; values: string[] }[];
  new: boolean;
  tags: string[];
  sensitivity: string[];
  evidence?: Record<string, string[]>;
  auth?: { state: string; unauthenticated: number; unauthenticated_2xx: number; unauthenticated_denied: number };
  status?: { '2xx': number; '3xx': number; '4xx': number; '5xx': number; codes?: Record<string, number> };
  callers?: { ips: number; api_keys: number; top_ips: Caller[] | null; top_api_keys: Caller[] | null };
  bytes?: { in: number; out: number; avg_response: number; max_response: number };
  latency?: { p50_ms: number; p95_ms: number; p99_ms: number };
  query_params?: { name: string; hits: number; type: string; format?: string }[];
  risk_score: number;
  risk_factors?: { factor: string; points: number }[];
  review?: { status: string; reviewer?: string; note?: string; at?: string };
}

export interface MapResult {
  service?: string;
  only?: string;
  since: string;
  until: string;
  specs: string[];
  unrouted: { endpoints: number; requests: number };
  elapsed_ms: number;
  endpoints: Endpoint[];
}

export interface SnapshotInfo { id: number; taken_at: string; window_seconds: number; endpoints: number; new_endpoints: number }

export interface Notification {
  id: number;
  fingerprint: string;
  rule_id: string;
  rule_name: string;
  severity: string;
  mode: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ip?: string;
  api_key_id?: string;
  endpoint?: string;
  alert_state: string;
  starts_at: string;
  alert_ends_at?: string;
  status: string;
  reason?: string;
  assignee?: string;
  first_seen: string;
  last_seen: string;
  count: number;
  incident_id?: number;
  updated_at: string;
}

export interface TriageEvent {
  id: number;
  notification_id?: number;
  incident_id?: number;
  kind: string;
  actor: string;
  before?: string;
  after?: string;
  note?: string;
  at: string;
}

export interface NotificationPage { alerts: Notification[]; total: number; next_cursor?: string }
export interface NotificationDetail extends Notification { audit: TriageEvent[] }

export interface Incident {
  id: number;
  title: string;
  severity: string;
  status: string;
  reason?: string;
  assignee?: string;
  first_seen: string;
  last_seen: string;
  notification_count: number;
  ips: string[];
  api_key_ids: string[];
  endpoints: string[];
  rule_ids: string[];
  merged_into?: number;
  created_at: string;
  updated_at: string;
}

export interface IncidentDetail extends Incident { notifications: Notification[]; timeline: TriageEvent[] }

export interface Enrichment {
  ip?: string;
  abuse_confidence?: number;
  total_reports?: number;
  distinct_reporters?: number;
  last_reported?: string;
  isp?: string;
  domain?: string;
  asn?: number;
  as_org?: string;
  usage_type?: string;
  country?: string;
  country_name?: string;
  city?: string;
  hostnames?: string[];
  is_tor?: boolean;
  is_public?: boolean;
  sources?: string[];
  fetched_at?: string;
  not_enriched?: Record<string, string>;
}

export interface IPRecord {
  ip: string;
  status: string;
  reason: string;
  source: string;
  severity: number;
  tags: string[];
  notes: string;
  expires_at?: string;
  created_by: string;
  updated_by: string;
  created_at?: string;
  updated_at?: string;
  enrichment?: Enrichment;
  enriched_at?: string;
  first_seen?: string;
  last_seen?: string;
  requests: number;
  bytes: number;
}

export interface IPList { ips: IPRecord[]; total: number }

export interface IPChange {
  id: number;
  at: string;
  actor: string;
  reason: string;
  action: string;
  source: string;
  shadow: boolean;
  undo_of?: number;
  undone_by?: number;
  items: { ip: string; before: { status: string } | null; after: { status: string } | null }[];
}

export interface IPDetail extends IPRecord {
  tracked: boolean;
  effective: string;
  covered_by: { ip: string; status: string; reason: string; expires_at?: string }[];
  history: IPChange[];
  traffic: {
    since: string;
    until: string;
    requests: number;
    response_bytes: number;
    request_bytes: number;
    first_seen?: string;
    last_seen?: string;
    client_errors: number;
    server_errors: number;
    api_keys: number;
    endpoints: number;
    top_endpoints: { method: string; path: string; requests: number; bytes: number }[];
  };
}

export interface IPStatusResult { change_id: number; status: string; expires_at?: string; changed: string[]; unchanged: string[] }
export interface EnrichResult { records: Enrichment[]; created: number; stats_updated: number; sources: string[]; warning?: string }

export interface TraceSummary {
  trace_id: string;
  span_id: string;
  timestamp: string;
  service_name: string;
  http_method: string;
  http_target: string;
  http_route: string;
  status_code: number;
  duration_ns: number;
  peer_ip: string;
  api_key_id: string;
  response_bytes: number;
}

export interface TraceList { since: string; until: string; truncated: boolean; traces: TraceSummary[] }

export interface TraceSpan {
  span_id: string;
  parent_span_id?: string;
  depth: number;
  orphan?: boolean;
  children: number;
  service_name: string;
  span_name: string;
  span_kind: string;
  start: string;
  offset_ns: number;
  duration_ns: number;
  otel_status: string;
  http_method?: string;
  http_target?: string;
  http_route?: string;
  status_code?: number;
  peer_ip?: string;
  api_key_id?: string;
  user_agent?: string;
  request_bytes?: number;
  response_bytes?: number;
  span_attributes: Record<string, string> | null;
  resource_attributes: Record<string, string> | null;
}

export interface TraceResult { trace_id: string; start: string; duration_ns: number; services: string[]; errors: number; spans: TraceSpan[] }

export interface RuleInfo {
  id: string;
  name: string;
  description?: string;
  severity: string;
  mode: string;
  origin: string;
  file?: string;
  interval: string;
  for?: string;
  enabled: boolean;
  health: string;
  last_error?: string;
  last_eval?: string;
  pending: number;
  firing: number;
  missed: number;
  sql?: string;
}

export interface AlertInstance {
  fingerprint?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  state?: string;
  active_at?: string;
  starts_at?: string;
}

export interface RuleDetail extends RuleInfo {
  body?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  group_by?: string[];
  instances: AlertInstance[];
}

export interface BacktestFiring {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  active_at: string;
  started_at: string;
  resolved_at?: string;
  values: Record<string, unknown>;
}

export interface BacktestResult {
  rule_id: string;
  name: string;
  from: string;
  to: string;
  step_ns: number;
  evaluations: number;
  queries: number;
  batched: boolean;
  method?: 'sliding' | 'batched' | 'per-step';
  fallback_reason?: string;
  cached_steps?: number;
  firings: BacktestFiring[];
  notifications: number;
  per_day: { day: string; firings: number; notifications: number }[];
  first_firing?: string;
  incident_start?: string;
  detection_gap_ns?: number;
  elapsed_ns?: number;
}

export interface AskRuleResult {
  question: string;
  interpretation: string;
  ir: string;
  window: string;
  threshold: number;
  rule: { name: string; sql: string; interval: string; for: string; severity: string; group_by?: string[] };
  rule_id: string;
  body: string;
  backtest?: BacktestResult;
  backtest_error?: string;
}

export interface UserInfo { name: string; role: Role; created_at: string; updated_at: string; must_change_password: boolean }
export interface TokenInfo { id: string; name: string; role: Role; user?: string; created_at: string; expires_at?: string; last_used_at?: string }
export interface AuditEntry { id: number; at: string; actor: string; action: string; target: string; before?: unknown; after?: unknown }
export interface ReceiverStatus {
  receiver: string;
  integration: string;
  last_attempt?: string;
  last_success?: string;
  last_error?: string;
  last_error_at?: string;
  sent: number;
  failed: number;
  send_resolved: boolean;
}

// Investigations (api/investigate.go, detect/types.go).

export interface CallerRef { kind: 'ip' | 'api_key'; value: string }
export interface Technique { id: string; name: string }

export interface Evidence {
  figures: Record<string, unknown> | null;
  sql?: string;
  note?: string;
}

export interface Finding { detector: string; text: string; figures?: Record<string, unknown> }

export interface Detection { detector: string; score: number; fired: boolean; finding: string; evidence: Evidence }

export interface StatusMix {
  ok: number;
  client_errors: number;
  server_errors: number;
  unauthorized: number;
  forbidden: number;
  not_found: number;
  too_many_requests: number;
}

export interface KeyUse {
  api_key_id: string;
  requests: number;
  first_seen?: string;
  age_days: number;
  age_censored: boolean;
  created_by?: string;
  ips: number;
  networks: number;
  asns?: number;
  key_requests: number;
  key_bytes: number;
}

export interface Activity {
  requests: number;
  bytes: number;
  avg_bytes: number;
  first_seen?: string;
  last_seen?: string;
  active_days: number;
  endpoints: number;
  top_endpoints: { endpoint: string; service: string; requests: number; bytes: number; share: number }[];
  status: StatusMix;
  api_keys: KeyUse[];
  user_agents: string[];
  ips: string[];
  networks: number;
}

export interface CallerReport {
  caller: CallerRef;
  verdict: string;
  severity: string;
  class?: string;
  certainty: string;
  risk_score: number;
  summary: string;
  attack_pattern?: string;
  findings: Finding[];
  detectors: Detection[];
  attack_techniques: Technique[];
  owasp: Technique[];
  remediation: string[];
  campaign: { id: string; verdict: string; members: number; summary: string } | null;
  activity: Activity;
  enrichment?: { country?: string; asn?: number; as_org?: string; isp?: string; usage_type?: string; data_center: boolean; tor: boolean; abuse_confidence?: number };
}

export interface Campaign {
  id: string;
  verdict: string;
  severity: string;
  class: string;
  summary: string;
  target: string;
  linked_by: string[];
  ips: string[];
  ip_count: number;
  api_keys: string[];
  user_agents: string[];
  requests: number;
  bytes: number;
  unique_objects: number;
  object_source?: string;
  id_ranges?: { ip: string; requests: number; min: number; max: number; unique: number }[];
  overlap: number;
  first_seen: string;
  last_seen: string;
  duration_hours: number;
  timeline: { at: string; kind: string; ip?: string; text: string }[];
  evidence: Evidence;
}

export interface Overall {
  verdict: string;
  severity: string;
  class?: string;
  certainty: string;
  risk_score: number;
  callers: number;
  flagged: number;
  summary: string;
}

export interface InvestigationResult {
  since: string;
  until: string;
  overall: Overall;
  callers: CallerReport[];
  campaigns: Campaign[];
  queries: number;
  elapsed_ms: number;
  narrative?: { summary: string; remediation_suggestions: string[]; risk_opinion: number; model_risk: number };
  narrative_error?: string;
}

export interface CampaignReport { since: string; until: string; campaigns: Campaign[]; screened: number; queries: number; elapsed_ms: number }

export interface KeyInfo {
  api_key_id: string;
  first_seen: string;
  last_seen: string;
  age_days: number;
  age_censored: boolean;
  created_by?: string;
  requests: number;
  bytes: number;
  ip_count: number;
  ips: string[];
  networks: number;
  asns?: number;
  endpoints: number;
  top_endpoint: string;
  top_endpoint_share: number;
  error_rate: number;
  risk_score: number;
  risk_factors: string[];
}

export interface KeyInventory { since: string; until: string; keys: KeyInfo[]; total: number; sql: string; queries: number }

// Exclusions and silences (api/exclusions.go, exclude/).

export type ConditionKind = 'path_glob' | 'ip_cidr' | 'api_key' | 'user_agent' | 'asn' | 'status' | 'sql_predicate';
export interface Condition { kind: ConditionKind; value: string }
export type ScopeKind = 'rule' | 'rules' | 'existing' | 'any';

export interface Exclusion {
  id: string;
  conditions: Condition[];
  match: 'all' | 'any';
  scope: { kind: ScopeKind; rule_ids?: string[] };
  reason: string;
  created_by?: string;
  created_at?: string;
  /** "never", an RFC 3339 time, or (in a request) a duration such as 30d. */
  expires_at: string;
  mode: 'active' | 'shadow';
  shadow_until?: string;
  hit_count: number;
  last_hit?: string;
  force_reason?: string;
}

export type ExclusionStatus = 'active' | 'shadow' | 'review' | 'expired';

export interface ExclusionInfo extends Exclusion {
  status: ExclusionStatus;
  shadow_suppressions: number;
  updated_at?: string;
  updated_by?: string;
}

export interface ShadowSuppression { exclusion_id?: string; rule_id: string; fingerprint: string; labels: Record<string, string> | null; starts_at: string; at: string }

export interface ExclusionDetail extends ExclusionInfo {
  suppressed: ShadowSuppression[] | null;
  dry_run?: DryRunResult;
}

export interface DryRunProgress {
  phase: string;
  rule?: string;
  rules_done: number;
  rules_total: number;
  steps_done: number;
  steps_total: number;
}

export interface FiringDiff {
  rule_id: string;
  mode: string;
  fingerprint: string;
  labels: Record<string, string> | null;
  summary?: string;
  started_at: string;
  resolved_at?: string;
}

export interface FlaggedSuppression {
  why: string;
  rule_id?: string;
  fingerprint?: string;
  notification_id?: number;
  status?: string;
  reason?: string;
  labels?: Record<string, string>;
  started_at?: string;
  ip?: string;
}

export interface DryRunResult {
  exclusion: Exclusion;
  from: string;
  to: string;
  rules: { rule_id: string; name: string; mode: string; notifications_before: number; notifications_after: number; firings_removed: number; firings_added: number; skipped?: string; error?: string; groups_replayed?: number; steps_cached?: number; steps?: number; elapsed_ns: number }[];
  notifications_before: number;
  notifications_after: number;
  removed: FiringDiff[] | null;
  added: FiringDiff[] | null;
  rows_excluded: number;
  rows_total: number;
  top_excluded_keys: { key: string; value: string; rows: number }[] | null;
  per_day: { day: string; rows_excluded: number; notifications_before: number; notifications_after: number }[] | null;
  suppressed_true_positives: FlaggedSuppression[] | null;
  warnings?: string[];
  elapsed_ns: number;
}

export interface Suggestion {
  exclusion: Exclusion;
  source: string;
  rationale: string;
  caller: { api_key_id?: string; ips: string[] | null; user_agent?: string; endpoints: string[] | null; requests: number; error_rate: number; active_days: number; window_days: number; kind?: string };
  notification_ids: number[] | null;
  removes: number;
  dry_run: DryRunResult | null;
  tried: number;
}

export interface SuggestionList { from: string; to: string; suggestions: Suggestion[] }

export interface Silence {
  id: string;
  matchers: string[];
  starts_at: string;
  ends_at: string;
  created_by?: string;
  created_at?: string;
  comment: string;
  active: boolean;
}

// GET /api/v1/settings (admins): the server's configuration, without secrets.
export interface ServerSettings {
  retention: string;
  store: { driver: string; mode?: string; server?: string };
  state_driver: string;
  auth: { enabled: boolean; session_ttl: string; secure_cookies: boolean; rate_limit: number };
  ingest: { otlp_http?: string; otlp_grpc?: string; require_token: string; max_body_bytes: number; redact_params: string[] };
  rules: { builtin: boolean; dirs: string[]; disabled: string[]; query_offset: string };
  apimap: { snapshot_interval: string; window: string; snapshot_retention: string; pins: number; do_not_merge: number };
  ipintel: {
    sources: string[]; mmdb: string[]; asn_csv: string[]; country_csv: string[]; tor_exit_list?: string; rdns: boolean; cache_ttl: string;
    abuseipdb_key_set: boolean; abuseipdb_server?: string; abuseipdb_daily_quota?: number; abuseipdb_blacklist: boolean;
  };
  contain: {
    webhooks: string[]; auto_response: string; max_auto_blocks_per_hour: number; investigate_alerts: boolean;
    detector_block?: string; detector_min_risk: number; detector_mode: string;
  };
  llm: { configured: boolean; server?: string; model?: string; key_set: boolean; timeout?: string };
  notify_receivers: { name: string; kinds: string[] }[];
}
