import type { Job } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import { nextRetryDelay, type AppInstance, type DeliveryFunction, type PluginEvent } from '@sluice/core';
import type { DeliverJob } from '@sluice/queues';
import { AppSetupError, type AppVm } from '@sluice/sandbox';
import { formatDelay, instanceLabels, type RunnerContext } from './context';
import { callExportEvents, callOnEvent, callOnEvents } from './delivery-calls';
import { deliveryFunctions } from './delivery';
import { exportSettings } from './export-buffer';
import { RETRY_SCHEDULES, deadLetter } from './failures';

/** Events a destination answered RetryError for, and the persons whose later events wait behind them. */
interface ParkedGroup {
  events: PluginEvent[];
  persons: string[];
}

/**
 * The Redis keys of one instance and function in one ordered lane. They carry the lane's hash tag,
 * so a transaction over them stays in one Redis Cluster slot.
 */
class LaneKeys {
  private readonly base: string;
  readonly persons: string;
  readonly exportBuffer: string;
  readonly exportBytes: string;

  constructor(prefix: string, lane: string, instanceId: number, fn: DeliveryFunction) {
    this.base = `${prefix}:${lane}:park:${instanceId}:${fn}`;
    /** Hash: a parked person's distinct_id → the group holding them. */
    this.persons = `${this.base}:persons`;
    this.exportBuffer = `${prefix}:${lane}:export:${instanceId}`;
    this.exportBytes = `${this.exportBuffer}:bytes`;
  }

  group(groupId: string): string {
    return `${this.base}:group:${groupId}`;
  }

  /** List: the later events of the group's persons, in lane order. */
  held(groupId: string): string {
    return `${this.base}:held:${groupId}`;
  }
}

/** How long a shutdown or reload waits for the buffers it flushes. */
const FLUSH_WAIT_MS = 15_000;

const parseEvent = (text: string) => JSON.parse(text) as PluginEvent;

/**
 * Serves the ordered `deliver-<app>.<k>` lanes. Each lane runs one job at a time (WorkerSet), so
 * everything here is a lane's only writer of its keys and needs no locks.
 *
 * - onEvent runs each event in lane order. RetryError parks the event's person: the event becomes
 *   a group retried by a delayed job of the lane, and the person's later events are held behind it
 *   (`held`) until it is delivered or dead-lettered; then they are delivered in order. Other
 *   persons flow meanwhile.
 * - exportEvents gathers the lane's events in a Redis list (the buffer survives a crash, so a
 *   deliver job completes at once) and exports it when it is full or old (a delayed flush job).
 *   A batch answered RetryError parks all its persons as one group.
 *
 * A crash re-runs the job: events may be delivered twice (at-least-once), never dropped.
 */
export class OrderedDelivery {
  constructor(private readonly context: RunnerContext) {}

  readonly process = async (job: Job<DeliverJob>): Promise<void> => {
    const { pool, logger } = this.context;
    const data = job.data;
    const lane = job.queueName;
    try {
      const done = await pool.use(data.instanceId, async (vm, instance) => {
        if (data.flush) return this.flush(lane, instance);
        if (data.group !== undefined) return this.retryGroup(lane, vm, instance, data.function ?? 'onEvent', data.group, data.attempts ?? 1);
        const functions = data.function ? [data.function] : deliveryFunctions(vm.capabilities);
        for (const fn of functions) await this.deliver(lane, instance, fn, data.events, vm);
      });
      if (done === null) logger.warn({ instanceId: data.instanceId, batchId: data.batchId }, 'destination instance no longer exists; batch skipped');
    } catch (error) {
      if (!(error instanceof AppSetupError)) throw error;
      // setupPlugin failed: every person waits as if their first event had thrown RetryError
      // (exportEvents meets the same failure when its buffer is flushed).
      if (data.flush || data.group !== undefined) return this.retryLater(lane, error.instance, data, error.message);
      const functions = data.function ? [data.function] : deliveryFunctions(error.instance.capabilities);
      for (const fn of functions) await this.deliver(lane, error.instance, fn, data.events, undefined, error.message);
    }
  };

  /** New events for one function: held behind their person's group if parked, else delivered (or buffered). */
  private async deliver(lane: string, instance: AppInstance, fn: DeliveryFunction, events: PluginEvent[], vm: AppVm | undefined, setupError?: string): Promise<void> {
    const keys = this.keys(lane, instance, fn);
    const wanted = fn === 'exportEvents' ? this.withoutIgnored(instance, events) : events;
    const free = await this.holdParked(keys, instance, fn, wanted);
    if (free.length === 0) return;
    if (fn === 'exportEvents') return this.buffer(keys, lane, instance, free);
    if (vm) return this.onEvents(keys, lane, vm, instance, free);
    // No VM (setupPlugin failed): each person's first event parks them, with the rest held.
    for (const [person, personEvents] of groupByPerson(free)) {
      await this.park(keys, lane, instance, 'onEvent', personEvents[0]!.uuid, { events: personEvents.slice(0, 1), persons: [person] }, personEvents.slice(1), setupError ?? 'setupPlugin failed');
    }
  }

  private withoutIgnored(instance: AppInstance, events: PluginEvent[]): PluginEvent[] {
    const { ignore } = exportSettings(instance.config);
    if (ignore.size === 0) return events;
    const kept = events.filter((event) => !ignore.has(event.event));
    const ignored = events.length - kept.length;
    if (ignored) this.context.metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: 'exportEvents', outcome: 'ignored' }, ignored);
    return kept;
  }

  /** Appends the events of parked persons to their groups' held lists; answers the others, in order. */
  private async holdParked(keys: LaneKeys, instance: AppInstance, fn: DeliveryFunction, events: PluginEvent[]): Promise<PluginEvent[]> {
    if (events.length === 0) return events;
    const persons = [...new Set(events.map((event) => event.distinct_id))];
    const groups = await this.context.connection.hmget(keys.persons, ...persons);
    const parkedBy = new Map<string, string>();
    persons.forEach((person, index) => {
      const group = groups[index];
      if (group) parkedBy.set(person, group);
    });
    if (parkedBy.size === 0) return events;
    const multi = this.context.connection.multi();
    const free: PluginEvent[] = [];
    for (const event of events) {
      const group = parkedBy.get(event.distinct_id);
      if (group === undefined) free.push(event);
      else multi.rpush(keys.held(group), JSON.stringify(event));
    }
    await multi.exec();
    this.context.metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: fn, outcome: 'held' }, events.length - free.length);
    return free;
  }

  /** onEvent for each event in order; a RetryError parks that event's person for the rest of the batch. */
  private async onEvents(keys: LaneKeys, lane: string, vm: AppVm, instance: AppInstance, events: PluginEvent[], attempts = 1): Promise<void> {
    const parked = new Map<string, { head: PluginEvent; error: string; held: PluginEvent[] }>();
    const final: Array<{ event: PluginEvent; error: string }> = [];
    let delivered = 0;
    const results = await callOnEvents(this.context, vm, instance, events, true);
    for (const [index, result] of results.entries()) {
      const event = events[index]!;
      // held: an earlier event of this person in the batch threw RetryError (parked earlier in this loop).
      if (result === 'held') parked.get(event.distinct_id)!.held.push(event);
      else if (result.ok) delivered += 1;
      else if (result.retry) parked.set(event.distinct_id, { head: event, error: result.error, held: [] });
      else final.push({ event, error: result.error });
    }
    if (delivered) this.context.metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: 'onEvent', outcome: 'delivered' }, delivered);
    for (const [person, { head, error, held }] of parked) {
      await this.park(keys, lane, instance, 'onEvent', head.uuid, { events: [head], persons: [person] }, held, error);
    }
    await deadLetter(this.context, instance, 'onEvent', attempts, final);
  }

  /**
   * Parks a group: its retry job first, then (in one transaction) the group, its persons and
   * their held events. A crash in between leaves a retry job that finds no group and ends.
   */
  private async park(keys: LaneKeys, lane: string, instance: AppInstance, fn: DeliveryFunction, groupId: string, group: ParkedGroup, held: PluginEvent[], error: string, also?: (multi: ChainableCommander) => void): Promise<void> {
    const delay = await this.scheduleRetry(lane, instance, fn, groupId, group.events[0]!.uuid, 1, error, group.events.length);
    if (delay === undefined) throw new Error(`the ${fn} retry schedule is empty`);
    const multi = this.context.connection.multi();
    also?.(multi);
    multi.set(keys.group(groupId), JSON.stringify(group));
    for (const person of group.persons) multi.hset(keys.persons, person, groupId);
    if (held.length) multi.rpush(keys.held(groupId), ...held.map((event) => JSON.stringify(event)));
    await multi.exec();
  }

  /**
   * Queues the retry of a group's head after `attempts` failed attempts, on PostHog's schedule;
   * undefined when the schedule is used up. The job id names the head and the attempt, so a re-run
   * does not queue it twice.
   */
  private async scheduleRetry(lane: string, instance: AppInstance, fn: DeliveryFunction, groupId: string, headUuid: string, attempts: number, error: string, events: number): Promise<number | undefined> {
    const { config, producer, metrics, appLog } = this.context;
    const schedule = RETRY_SCHEDULES[fn];
    const delay = nextRetryDelay(schedule, attempts - 1, config.retryDelayScale);
    if (delay === undefined) return undefined;
    const retry: DeliverJob = { batchId: groupId, projectId: instance.projectId, instanceId: instance.id, events: [], function: fn, group: groupId, attempts };
    await producer.add(lane, retry, `park.${instance.id}.${fn}.${groupId}.${headUuid}.a${attempts}`, { delay });
    metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: fn, outcome: 'retried' }, events);
    appLog(instance, 'warn', `${fn}: ${error}; ${events} event(s) retried in ${formatDelay(delay)} (retry ${attempts} of ${schedule.length}); later events of the same person(s) wait for them`);
    return delay;
  }

  /** A parked group's retry: delivered or dead-lettered, it releases its persons; RetryError waits again. */
  private async retryGroup(lane: string, vm: AppVm, instance: AppInstance, fn: DeliveryFunction, groupId: string, attemptsBefore: number): Promise<void> {
    const keys = this.keys(lane, instance, fn);
    const text = await this.context.connection.get(keys.group(groupId));
    if (text === null) return; // released already (this job re-ran after a crash)
    const group = JSON.parse(text) as ParkedGroup;
    const attempts = attemptsBefore + 1;
    const result = fn === 'onEvent' ? await callOnEvent(this.context, vm, instance, group.events[0]!) : await callExportEvents(this.context, instance, group.events);
    if (result === null) return;
    if (result.ok) {
      this.context.metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: fn, outcome: 'delivered' }, group.events.length);
    } else {
      if (result.retry && (await this.scheduleRetry(lane, instance, fn, groupId, group.events[0]!.uuid, attempts, result.error, group.events.length)) !== undefined) return;
      await deadLetter(this.context, instance, fn, attempts, group.events.map((event) => ({ event, error: result.error })));
    }
    await this.release(keys, lane, vm, instance, fn, groupId, group);
  }

  /** A retry that could not run (setupPlugin failed): the same attempt again, later. */
  private async retryLater(lane: string, instance: AppInstance, data: DeliverJob, error: string): Promise<void> {
    const { producer } = this.context;
    const delayMs = nextRetryDelay(RETRY_SCHEDULES[data.function ?? 'onEvent'], 0, this.context.config.retryDelayScale) ?? 1000;
    this.context.appLog(instance, 'warn', `${error}; retrying in ${formatDelay(delayMs)}`);
    await producer.add(lane, data, `later.${Date.now()}.${Math.random().toString(36).slice(2)}`, { delay: delayMs });
  }

  /** The group is done: its persons' held events go on in order, and the persons are free again. */
  private async release(keys: LaneKeys, lane: string, vm: AppVm, instance: AppInstance, fn: DeliveryFunction, groupId: string, group: ParkedGroup): Promise<void> {
    const { connection } = this.context;
    const unpark = (multi: ChainableCommander) => {
      multi.del(keys.group(groupId), keys.held(groupId));
      if (group.persons.length) multi.hdel(keys.persons, ...group.persons);
    };
    if (fn === 'exportEvents') {
      // Moved into the buffer in the same transaction that frees the persons: nothing is lost between.
      const held = (await connection.lrange(keys.held(groupId), 0, -1)).map(parseEvent);
      return this.buffer(keys, lane, instance, held, unpark);
    }
    // onEvent: the held events are delivered while the person is still parked, each popped once
    // delivered, so a crash resumes where it stopped; a RetryError makes that event the group's head.
    for (;;) {
      const next = await connection.lindex(keys.held(groupId), 0);
      if (next === null) break;
      const event = parseEvent(next);
      const result = await callOnEvent(this.context, vm, instance, event);
      if (!result.ok && result.retry) {
        await this.scheduleRetry(lane, instance, fn, groupId, event.uuid, 1, result.error, 1);
        await connection.multi().set(keys.group(groupId), JSON.stringify({ events: [event], persons: group.persons })).lpop(keys.held(groupId)).exec();
        return;
      }
      if (result.ok) this.context.metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: fn, outcome: 'delivered' });
      else await deadLetter(this.context, instance, fn, 1, [{ event, error: result.error }]);
      await connection.lpop(keys.held(groupId));
    }
    const multi = connection.multi();
    unpark(multi);
    await multi.exec();
  }

  /**
   * Appends events to the lane's exportEvents buffer (with `also` in the same transaction); one
   * that is full is exported now, any other is sure to have its flush job.
   */
  private async buffer(keys: LaneKeys, lane: string, instance: AppInstance, events: PluginEvent[], also?: (multi: ChainableCommander) => void): Promise<void> {
    const settings = exportSettings(instance.config);
    const texts = events.map((event) => JSON.stringify(event));
    const multi = this.context.connection.multi();
    also?.(multi);
    if (texts.length) multi.rpush(keys.exportBuffer, ...texts).incrby(keys.exportBytes, texts.reduce((sum, text) => sum + text.length, 0)).lindex(keys.exportBuffer, 0);
    const replies = await multi.exec();
    if (texts.length === 0) return;
    const [bytes, headText] = replies!.slice(-2).map(([, value]) => value) as [number, string];
    if (Number(bytes) >= settings.bufferBytes || settings.bufferMs === 0) return this.flush(lane, instance);
    // The flush job is named after the buffer's first event and added on every append, not only
    // when the buffer began: a runner killed between its append and its add leaves a buffer
    // without a flush job, and the re-run's append finds the buffer already begun. BullMQ keeps
    // the job that exists (and its delay, counted from the buffer's start).
    const head = parseEvent(headText).uuid;
    const flush: DeliverJob = { batchId: `flush-${head}`, projectId: instance.projectId, instanceId: instance.id, events: [], function: 'exportEvents', flush: true };
    await this.context.producer.add(lane, flush, `flush.${instance.id}.${head}`, { delay: settings.bufferMs });
  }

  /** Exports the lane's buffer as one batch; a RetryError parks all its persons, as one group. */
  private async flush(lane: string, instance: AppInstance): Promise<void> {
    const { connection, metrics } = this.context;
    const keys = this.keys(lane, instance, 'exportEvents');
    const events = (await connection.lrange(keys.exportBuffer, 0, -1)).map(parseEvent);
    if (events.length === 0) return;
    const emptyBuffer = (multi: ChainableCommander) => void multi.del(keys.exportBuffer, keys.exportBytes);
    const result = await callExportEvents(this.context, instance, events);
    if (result === null) return;
    if (!result.ok && result.retry) {
      const persons = [...new Set(events.map((event) => event.distinct_id))];
      return this.park(keys, lane, instance, 'exportEvents', `x${events[0]!.uuid}`, { events, persons }, [], result.error, emptyBuffer);
    }
    if (result.ok) metrics.deliveryEvents.inc({ ...instanceLabels(instance), function: 'exportEvents', outcome: 'delivered' }, events.length);
    else await deadLetter(this.context, instance, 'exportEvents', 1, events.map((event) => ({ event, error: result.error })));
    const multi = connection.multi();
    emptyBuffer(multi);
    await multi.exec();
  }

  /**
   * Exports what the lanes' exportEvents buffers hold now (shutdown, or before a project's
   * instances reload, as PostHog flushes them): their pending flush jobs are promoted, so each runs
   * as its lane's next job, and awaited for up to FLUSH_WAIT_MS.
   */
  async flushBuffers(lanes: readonly string[], projectId?: string): Promise<void> {
    const { producer } = this.context;
    const promoted: Array<{ lane: string; id: string }> = [];
    for (const lane of lanes) {
      for (const job of await producer.queue(lane).getDelayed()) {
        const data = job.data as DeliverJob;
        if (!data.flush || job.id === undefined || (projectId !== undefined && data.projectId !== projectId)) continue;
        await job.promote().catch(() => undefined); // it may have just been promoted by its timer
        promoted.push({ lane, id: job.id });
      }
    }
    const deadline = Date.now() + FLUSH_WAIT_MS;
    for (const { lane, id } of promoted) {
      while (Date.now() < deadline && (await producer.queue(lane).getJob(id))) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private keys(lane: string, instance: AppInstance, fn: DeliveryFunction): LaneKeys {
    return new LaneKeys(this.context.config.redisPrefix, lane, instance.id, fn);
  }
}

function groupByPerson(events: PluginEvent[]): Map<string, PluginEvent[]> {
  const byPerson = new Map<string, PluginEvent[]>();
  for (const event of events) {
    const list = byPerson.get(event.distinct_id);
    if (list) list.push(event);
    else byPerson.set(event.distinct_id, [event]);
  }
  return byPerson;
}
