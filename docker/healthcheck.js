// Container health check for compose.yaml: exits 0 when the imatch service in this container
// answers GET /readyz with 200 on its IMATCH_PORT, 1 otherwise (not ready yet, refused, or no
// answer within 3 s). A separate short-lived process per check, so it reads process.env itself.
const port = process.env.IMATCH_PORT;
if (port === undefined || port === '' || port === '0') {
  process.stderr.write('healthcheck: IMATCH_PORT is not set to a fixed port\n');
  process.exit(1);
}
try {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) });
  const body = await res.text();
  process.stdout.write(`${res.status} ${body.slice(0, 300)}\n`);
  process.exit(res.status === 200 ? 0 : 1);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
