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
  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
    );
  });
  process.on('exit', () => {
    if (!started) return;
    // An in-thread inspector session answers synchronously, so this completes inside the exit handler.
    session.post('Profiler.stop', (err, res) => {
      if (!err) fs.writeFileSync(out, JSON.stringify(res.profile));
    });
  });
}
