/** Queues and groups (step 4). */
export function QueuesPage() {
  return <main class="muted">queues</main>;
}
export function QueuePage(_p: { id: string }) {
  return <main class="muted">queue</main>;
}
export function GroupsPage() {
  return <main class="muted">groups</main>;
}
export function GroupPage(_p: { id: string }) {
  return <main class="muted">group</main>;
}
