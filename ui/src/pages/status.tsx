/** The service at a glance, refreshed every few seconds: is it up, is the app-server, who is connected. */
import type { GroupCountsJson } from '../../../service/groups/group-json.js';
import type { QueueCountsJson } from '../../../service/queues/queue-json.js';
import { remoteControlPhrase, type ServiceStatusJson } from '../../../service/status-json.js';
import { api } from '../api';
import { duration } from '../format';
import { usePoll } from '../poll';
import { Badge, ErrorLine, Section } from '../ui';

/** /status: the service's own keys, and what the queue feature adds to it (service/queues). */
type Status = ServiceStatusJson & { queues?: QueueCountsJson; groups?: GroupCountsJson };

function Row(props: { k: string; v: unknown }) {
  return (
    <div class="kv">
      <dt>{props.k}</dt>
      <dd>{props.v === undefined || props.v === null || props.v === '' ? '—' : String(props.v)}</dd>
    </div>
  );
}

export function StatusPage() {
  const { data: s, error } = usePoll(() => api<Status>('GET', '/status'), 5000);
  return (
    <main>
      <ErrorLine error={error} />
      {!s ? (
        <p class="muted">loading…</p>
      ) : (
        <>
          <Section title="Service" actions={<Badge text={s.state} />}>
            <dl data-testid="service">
              <Row k="version" v={s.version} />
              <Row k="pid" v={s.pid} />
              <Row k="uptime" v={duration(s.uptimeSec)} />
              <Row k="clients" v={s.clients} />
              <Row k="status" v={s.statusText} />
              {s.pendingRestart?.length ? (
                <Row k="restart needed for" v={s.pendingRestart.join(', ')} />
              ) : null}
            </dl>
          </Section>
          <Section title="App-server" actions={<Badge text={s.appServer.state} />}>
            <dl data-testid="app-server">
              <Row k="pid" v={s.appServer.pid} />
              <Row k="version" v={s.appServer.version} />
              <Row k="restarts" v={s.appServer.restarts} />
              <Row
                k="remote control"
                v={s.appServer.remoteControl && remoteControlPhrase(s.appServer.remoteControl)}
              />
            </dl>
          </Section>
          {s.queues || s.groups ? (
            <Section title="Work">
              <dl>
                {s.queues ? (
                  <Row k="queues running" v={`${s.queues.running} of ${s.queues.total}`} />
                ) : null}
                {s.groups ? (
                  <Row k="groups running" v={`${s.groups.running} of ${s.groups.total}`} />
                ) : null}
              </dl>
            </Section>
          ) : null}
        </>
      )}
    </main>
  );
}
