import { useTitle } from '../../hooks';

/** ComingSoon holds the place of a page whose API is still being built. */
export function ComingSoon({ what, about }: { what: string; about: string }) {
  useTitle(what);
  return (
    <div class="page">
      <h1>{what}</h1>
      <div class="card soon">
        <p>This page arrives with its API: {about}.</p>
        <p class="muted">Until then, the CLI and the other pages cover the workflow.</p>
      </div>
    </div>
  );
}
