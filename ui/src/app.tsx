export function App() {
  return <main>codex-sm</main>;
}
