export { createFlagsService, type FlagsService } from './flags.service.ts';
export { flagsRoutes } from './flags.routes.ts';
export { announceFlagChange, FlagCache, type DeliveredFlags, type FlagChange, type FlagsDocument } from './flag-cache.ts';
export {
  applyJobSwitches,
  deferWhileSwitchedOff,
  isSwitchedOff,
  KillSwitches,
  switchedJob,
  type BlockingSwitch,
  type JobSwitch,
  type SwitchScope,
} from './kill-switches.ts';
export { MESSAGING_CHANNELS, SWITCH_NAMES, type MessagingChannel, type SwitchName } from './flags.schemas.ts';
