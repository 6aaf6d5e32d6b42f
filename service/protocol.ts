/**
 * A hand-kept subset of the Codex app-server protocol, copied from the types that
 * `codex app-server generate-ts` emits for the pinned @openai/codex 0.169.0 (InitializeParams,
 * InitializeCapabilities, InitializeResponse, RequestId, ServerRequest methods). Regenerate
 * and compare when bumping the pin: `codex app-server generate-ts --out /tmp/gts`.
 *
 * Framing: JSON-RPC 2.0 without the "jsonrpc" field, one JSON object per WebSocket text frame.
 */

export type RequestId = string | number;

export interface ClientInfo {
  name: string;
  title: string | null;
  version: string;
}

export interface InitializeCapabilities {
  experimentalApi: boolean;
  requestAttestation?: boolean;
  requiredHumanApproval?: boolean;
  optOutNotificationMethods?: string[] | null;
}

export interface InitializeParams {
  clientInfo: ClientInfo;
  capabilities: InitializeCapabilities | null;
}

export interface InitializeResponse {
  userAgent: string;
  codexHome: string;
  platformFamily: string;
  platformOs: string;
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** A message from the server: a response, a notification, or a server-initiated request. */
export interface IncomingMessage {
  id?: RequestId;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: RpcErrorObject;
  emittedAtMs?: number;
}

/** Server → client requests that wait for a person (approvals and questions). */
export const APPROVAL_REQUEST_METHODS = [
  'item/commandExecution/requestApproval',
  'item/fileChange/requestApproval',
  'item/permissions/requestApproval',
  'item/tool/requestUserInput',
  'mcpServer/elicitation/request',
  'applyPatchApproval',
  'execCommandApproval',
] as const;

/** Error codes seen from the real server. */
export const RPC_ERRORS = {
  invalidRequest: -32600,
  overloaded: -32001,
} as const;
