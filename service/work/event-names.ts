/**
 * The names of the queue and group events (docs/queues.md, "Events"): the engines may emit
 * only these, and the dashboard listens to exactly these (an SSE client has no wildcard
 * listener: a name missing from its list is an event it never sees). No imports: the
 * dashboard's browser build type-checks and bundles this file too.
 */
export const QUEUE_EVENTS = [
  'queue_created',
  'queue_started',
  'queue_paused',
  'queue_resumed',
  'queue_stopped',
  'queue_completed',
  'queue_failed',
  'prompt_added',
  'prompt_updated',
  'prompt_removed',
  'prompt_moved',
  'prompt_waiting',
  'prompt_started',
  'prompt_completed',
  'prompt_failed',
  'prompt_interrupted',
  'approval',
  'queue_deleted',
] as const;
export type QueueEventName = (typeof QUEUE_EVENTS)[number];

export const GROUP_EVENTS = [
  'group_updated',
  'run_started',
  'session_started',
  'session_completed',
  'session_failed',
  'session_interrupted',
  'session_cancelled',
  'group_completed',
  'group_paused',
  'group_resumed',
  'approval',
  'group_deleted',
] as const;
export type GroupEventName = (typeof GROUP_EVENTS)[number];
