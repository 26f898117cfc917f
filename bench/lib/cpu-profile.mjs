// A CPU profile of a bench's measured window, for benches that must say where their server's CPU goes.
// Preloaded into the server process (`node --import bench/lib/cpu-profile.mjs ...`) with LOUPE_CPU_PROFILE_FILE
// set: SIGUSR2 (sent by the bench after its warm-up) starts the V8 sampling profiler; the profile is written as
// a .cpuprofile (JSON, open it in Chrome DevTools or bench/lib/cpu-profile-summary.mjs) when the process exits.
import fs from 'node:fs';
import inspector from 'node:inspector';

const out = process.env.LOUPE_CPU_PROFILE_FILE;
if (out) {
  const session = new inspector.Session();
  session.connect();
  let started = false;
  let written = false;
  const start = () =>
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
    );
  // Each later SIGUSR2 writes the profile of the window since the one before and starts the next: the file holds the
  // last complete window (the bench signals at both ends of its measured window). A server stopped by SIGKILL (slow
  // to close under load) still leaves that window behind.
  process.on('SIGUSR2', () => {
    if (!started) {
      started = true;
      start();
      return;
    }
    session.post('Profiler.stop', (err, res) => {
      if (!err) {
        fs.writeFileSync(out, JSON.stringify(res.profile));
        written = true;
      }
      start();
    });
  });
  process.on('exit', () => {
    if (!started || written) return;
    // An in-thread inspector session answers synchronously, so this completes inside the exit handler.
    session.post('Profiler.stop', (err, res) => {
      if (!err) fs.writeFileSync(out, JSON.stringify(res.profile));
    });
  });
}
