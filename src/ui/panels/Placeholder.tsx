export function Placeholder({ name }: { name: string }) {
  return (
    <section className="card empty">
      <h2>{name}</h2>
      <p>This panel is being built. The same engine is available from the CLI: <code>npx quantlab help</code>.</p>
    </section>
  );
}
