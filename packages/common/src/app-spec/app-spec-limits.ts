/**
 * Upper bounds of app definitions, on top of Marathon's rules (Marathon has
 * almost none). Every value must fit the proto field that carries it
 * (instances is a uint32: 4294967296 once made every ListApps answer fail
 * to serialize, for the whole cluster), and every value is later used by
 * code that misbehaves at extremes: timers (see timers/timer-delay.ts),
 * the scheduler's fixed-point arithmetic, directory names made from ids,
 * and the size of every answer that lists apps. Each cap is far above what
 * a real Marathon user writes, so only a mistake or a hostile client meets
 * one; resource caps are shared with agents (resources/resource-limits.ts).
 */

/**
 * Characters of an app id. A task id is the id plus 37 (".<uuid>") and
 * names the task's sandbox directory, which a filesystem caps at 255 bytes.
 */
export const MAX_APP_ID_LENGTH = 200;

/** Instances of one app. Marathon's largest known clusters ran tens of thousands of tasks in all. */
export const MAX_INSTANCES = 100_000;

/**
 * A duration in seconds (backoff, grace periods, health check timing, the
 * progress deadline): one week. Longer than any real delay, and below the
 * 24.8 days a Node timer can hold, so a valid duration always fits one.
 */
export const MAX_DURATION_SECONDS = 7 * 24 * 60 * 60;

/** backoffFactor: 100 already reaches maxLaunchDelaySeconds after a few failures. */
export const MAX_BACKOFF_FACTOR = 100;

/** A health check's maxConsecutiveFailures (a uint32 on the wire). */
export const MAX_CONSECUTIVE_FAILURES = 10_000;

/**
 * cmd, one of args, one env or label value, a COMMAND check: 64 Ki
 * characters. The kernel refuses a single argument or variable over
 * 128 KiB anyway (MAX_ARG_STRLEN).
 */
export const MAX_LONG_TEXT_LENGTH = 65_536;

/** Paths, URIs, image names, regexes and other short strings: 4 Ki characters (PATH_MAX is 4096). */
export const MAX_TEXT_LENGTH = 4096;

/** Names: env variable and label keys, port names, constraint fields, the user. */
export const MAX_NAME_LENGTH = 256;

/** Entries of env, labels and each port's labels. */
export const MAX_MAP_ENTRIES = 1024;

/** Items of args. */
export const MAX_ARGS = 1024;

/**
 * Items of every other list (portDefinitions, constraints, healthChecks,
 * fetch, volumes, docker parameters, portMappings).
 */
export const MAX_LIST_ITEMS = 256;
