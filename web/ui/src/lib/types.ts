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
  fallback_reason?: string;
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
