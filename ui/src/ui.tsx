/** Small shared pieces: buttons, errors, diffs, status badges. */
import type { ComponentChildren } from 'preact';

export function Button(props: {
  children: ComponentChildren;
  onClick?: () => void;
  kind?: 'primary' | 'danger' | 'plain';
  disabled?: boolean;
  type?: 'button' | 'submit';
  label?: string;
}) {
  return (
    <button
      type={props.type ?? 'button'}
      class={`btn ${props.kind ?? 'plain'}`}
      onClick={props.onClick}
      disabled={props.disabled}
      aria-label={props.label}
    >
      {props.children}
    </button>
  );
}

export function ErrorLine({ error }: { error: string | null | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Badge({ text }: { text: string | null | undefined }) {
  if (!text) return null;
  return <span class={`badge s-${text.replace(/[^a-zA-Z]/g, '')}`}>{text}</span>;
}

/** A unified diff, each line coloured by its first character. */
export function Diff({ diff }: { diff: string }) {
  return (
    <pre class="diff">
      {diff.split('\n').map((line, i) => (
        <span
          key={i}
          class={
            line.startsWith('+') && !line.startsWith('+++')
              ? 'add'
              : line.startsWith('-') && !line.startsWith('---')
                ? 'del'
                : line.startsWith('@@')
                  ? 'hunk'
                  : ''
          }
        >
          {line + '\n'}
        </span>
      ))}
    </pre>
  );
}

export function Section(props: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="card">
      <header class="card-head">
        <h2>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}
