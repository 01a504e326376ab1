import type { NextFunction, Request, Response } from 'express';
import client from 'prom-client';
import type { Daemon } from '../daemon.js';
import { INTERNAL } from '../ownership/viewer.js';

/** A registry per daemon (never the global one), so two daemons in one process do not share counters. */
export function createMetrics(daemon: Daemon) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'comfygate_process_' });
  new client.Gauge({
    name: 'comfygate_jobs',
    help: 'Jobs by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      for (const [state, n] of Object.entries(await daemon.store.jobs.countByState())) this.set({ state }, n);
    },
  });
  new client.Gauge({
    name: 'comfygate_backend_up',
    help: '1 when the backend is healthy',
    labelNames: ['backend'],
    registers: [registry],
    collect() {
      this.reset();
      for (const b of daemon.backends()) this.set({ backend: b.name }, b.health === 'up' ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'comfygate_backend_inflight',
    help: 'Prompts held in each backend queue',
    labelNames: ['backend'],
    registers: [registry],
    collect() {
      this.reset();
      for (const b of daemon.backends()) this.set({ backend: b.name }, b.inflight);
    },
  });
  const duration = new client.Histogram({
    name: 'comfygate_job_duration_seconds',
    help: 'Time from submit to a terminal state',
    labelNames: ['state'],
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
    registers: [registry],
  });
  const http = new client.Histogram({
    name: 'comfygate_http_request_duration_seconds',
    help: 'HTTP latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const off = daemon.subscribe((e) => {
    if (e.type !== 'job:succeeded' && e.type !== 'job:failed' && e.type !== 'job:canceled') return;
    void daemon.get(e.jobId!, INTERNAL).then(
      (j) => duration.observe({ state: j.state }, ((j.finishedAt ?? Date.now()) - j.createdAt) / 1000),
      () => {},
    );
  }, INTERNAL);
  return {
    registry,
    close: off,
    httpTimer(req: Request, res: Response, next: NextFunction) {
      const end = http.startTimer({ method: req.method });
      res.on('finish', () =>
        end({
          route: req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched',
          status: String(res.statusCode),
        }),
      );
      next();
    },
  };
}
