// Package schedule turns a secret's rotation rules (AutomaticallyAfterDays,
// ScheduleExpression, Duration) into rotation windows, with the semantics of
// AWS Secrets Manager. It does no I/O and reads no clock: every function
// takes the reference times it needs.
//
// Sources followed, in order of weight: the botocore model
// (RotationRulesType and its member docs), the Secrets Manager user guide
// page "Rotation schedules" (rotate-secrets_schedule.html) and, for the cron
// syntax that page leaves open (W, # and L details), the EventBridge "Cron
// expressions reference", whose syntax Secrets Manager adopts. What AWS
// documents and what Rotor chose where AWS is silent:
//
//   - All times are UTC and every window opens on the hour. A rotation starts
//     at some time inside a window [Start, End); see PickStart.
//   - AutomaticallyAfterDays N (1-1000): the next window is the UTC day
//     N days after the day of the last rotation ("Secrets Manager calculates
//     the next rotation date based on the previous rotation"; a manual
//     PutSecretValue or UpdateSecret counts as a rotation — the caller
//     decides which time it passes). With Duration the window opens at
//     midnight of that day.
//   - rate(N day|days): the same counting as AutomaticallyAfterDays, from the
//     day of the last rotation (the model groups rate() with
//     AutomaticallyAfterDays: "the previously scheduled rotation might still
//     occur"). N is at most 999 ("The maximum rotation period is 999 days").
//     Default window: the whole UTC day.
//   - rate(N hour|hours): N >= 4 ("You can rotate a secret as often as every
//     four hours"). AWS documents only that hour-rate windows start at
//     midnight. Rotor lays them on a fixed grid of N-hour steps from
//     1970-01-01T00:00Z, so consecutive windows are always exactly N hours
//     apart and, when N divides 24, every day's first window opens at
//     midnight. (A grid restarted at each midnight would leave a short last
//     gap, 1 hour for rate(23 hours), below the 4-hour minimum.) Default
//     window: 1 hour.
//   - cron(Minutes Hours Day-of-month Month Day-of-week Year): Minutes must
//     be 0 and Year must be *; hour increments restart each day (4/12 is
//     04:00 and 16:00). A cron schedule that opens more than one window a
//     day is a "schedule in hours" (default window 1 hour); one that opens a
//     single window a day is a "schedule in days" (default window: to the end
//     of the UTC day).
//   - Duration ([0-9]+h, 1h to 24h) replaces the default window length. The
//     window must not run into the next window nor past the end of the UTC
//     day (the model: "The window must not extend into the next rotation
//     window or the next UTC day"); Parse rejects rules that would.
//
// Every error Parse returns is a *rotor.Error with code rotor.EINVALID
// (InvalidParameterException on the wire, the exception AWS uses for
// rotation-rule faults) and a message that names the fault.
package schedule
