import { useCallback, useId } from 'react';
import { InputError, securityApi, type CodeChannel, type MfaPolicy } from '../api';
import { PageHeading, SelectField, TextField, type Option } from '../components/ui';
import { SettingsSection, useSetting } from '../components/SettingsSection';

/** The platform minimum (FR-AUTH-002) an organization may tighten but never weaken, and the API's upper bounds. */
const PASSWORD = { minLength: 12, maxLength: 128, minHistory: 5, maxHistory: 24, minStrength: 3, maxStrength: 4 } as const;
/** The session lifetimes the API accepts, in minutes; the platform's own limits may be shorter still. */
const SESSION = { idleMin: 1, absoluteMin: 5, max: 30 * 24 * 60 } as const;

/**
 * The organization's security settings (FR-AUTH-006, FR-AUTH-008, NFR-SEC-003, FR-VER-002):
 * password rules, session lifetimes, who must use a second factor, and phone verification. Each
 * form saves on its own; the server enforces every rule again.
 */
export function SecuritySettings({ tenantId }: { tenantId: string }) {
  return (
    <>
      <PageHeading>Security</PageHeading>
      <p className="intro">Rules that apply to everyone in your organization. Each section is saved on its own.</p>
      <PasswordPolicyForm tenantId={tenantId} />
      <SessionPolicyForm tenantId={tenantId} />
      <MfaPolicyForm tenantId={tenantId} />
      <VerificationPolicyForm tenantId={tenantId} />
    </>
  );
}

/** A whole number typed in a field, or an InputError naming the field. */
function wholeNumber(data: FormData, name: string, label: string): number | null {
  const raw = String(data.get(name) ?? '').trim();
  if (raw === '') return null;
  if (!/^\d+$/.test(raw)) throw new InputError(`${label} must be a whole number.`);
  return Number(raw);
}

function between(value: number | null, label: string, min: number, max: number, unit: string): number {
  if (value === null || value < min) throw new InputError(`${label} must be at least ${min} ${unit}.`);
  if (value > max) throw new InputError(`${label} can be at most ${max} ${unit}.`);
  return value;
}

function PasswordPolicyForm({ tenantId }: { tenantId: string }) {
  const setting = useSetting(useCallback(() => securityApi.passwordPolicy(tenantId), [tenantId]));
  const policy = setting.value;

  function submit(data: FormData) {
    void setting.save(
      async () => {
        // Refused here as the API refuses it: nothing weaker than the platform minimum is sent.
        const minLength = between(wholeNumber(data, 'min_length', 'Minimum length'), 'Minimum length', PASSWORD.minLength, PASSWORD.maxLength, 'characters');
        const history = between(wholeNumber(data, 'history', 'Password history'), 'Password history', PASSWORD.minHistory, PASSWORD.maxHistory, 'passwords');
        return securityApi.savePasswordPolicy(tenantId, {
          min_length: minLength,
          require_all_classes: data.get('require_all_classes') === 'on',
          history,
          min_strength: data.get('strongest') === 'on' ? PASSWORD.maxStrength : PASSWORD.minStrength,
        });
      },
      (saved) => `Password policy saved. New passwords need at least ${saved.min_length} characters.`,
    );
  }

  return (
    <SettingsSection
      title="Password policy"
      saveLabel="Save password policy"
      description="Applies to new passwords; current passwords keep working until they are changed. The platform minimum cannot be weakened."
      {...sectionState(setting)}
      onSubmit={submit}
    >
      {policy && (
        <>
          <TextField
            label="Minimum length"
            name="min_length"
            type="number"
            inputMode="numeric"
            min={PASSWORD.minLength}
            max={PASSWORD.maxLength}
            defaultValue={policy.min_length}
            hint={`Platform minimum: ${PASSWORD.minLength} characters (up to ${PASSWORD.maxLength}).`}
          />
          <CheckField name="require_all_classes" defaultChecked={policy.require_all_classes} hint="Platform minimum: three of the four.">
            Require all four kinds of character: lowercase, uppercase, digits and symbols
          </CheckField>
          <TextField
            label="Password history"
            name="history"
            type="number"
            inputMode="numeric"
            min={PASSWORD.minHistory}
            max={PASSWORD.maxHistory}
            defaultValue={policy.history}
            hint={`How many previous passwords cannot be used again. Platform minimum: ${PASSWORD.minHistory} (up to ${PASSWORD.maxHistory}).`}
          />
          <CheckField
            name="strongest"
            defaultChecked={policy.min_strength >= PASSWORD.maxStrength}
            hint="Platform minimum: hard to guess (about 100 million guesses). This asks for about 10 billion."
          >
            Require very hard to guess passwords
          </CheckField>
        </>
      )}
    </SettingsSection>
  );
}

/** Minutes as people say them: "30 minutes", "12 hours", "1 hour 30 minutes". */
function duration(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const h = hours === 1 ? '1 hour' : `${hours} hours`;
  const m = rest === 1 ? '1 minute' : `${rest} minutes`;
  return hours === 0 ? m : rest === 0 ? h : `${h} ${m}`;
}

function SessionPolicyForm({ tenantId }: { tenantId: string }) {
  const setting = useSetting(useCallback(() => securityApi.sessionPolicy(tenantId), [tenantId]));
  const policy = setting.value;

  function submit(data: FormData) {
    void setting.save(
      async () => {
        const idle = wholeNumber(data, 'idle', 'Idle limit');
        const absolute = wholeNumber(data, 'absolute', 'Absolute limit');
        return securityApi.saveSessionPolicy(tenantId, {
          idle_timeout_seconds: idle === null ? null : between(idle, 'Idle limit', SESSION.idleMin, SESSION.max, 'minutes') * 60,
          absolute_ttl_seconds: absolute === null ? null : between(absolute, 'Absolute limit', SESSION.absoluteMin, SESSION.max, 'minutes') * 60,
        });
      },
      (saved) => `Session policy saved. Sessions now end after ${duration(saved.effective.idle_timeout_seconds)} unused, and after ${duration(saved.effective.absolute_ttl_seconds)} at most.`,
    );
  }

  const minutes = (seconds: number | null) => (seconds === null ? '' : String(Math.round(seconds / 60)));
  return (
    <SettingsSection
      title="Session policy"
      saveLabel="Save session policy"
      description="How long people stay signed in. Limits can only be shorter than the platform’s; leave a field empty to use the platform’s limit."
      {...sectionState(setting)}
      onSubmit={submit}
    >
      {policy && (
        <>
          <p className="intro">
            In force now: sign-out after {duration(policy.effective.idle_timeout_seconds)} unused, and after {duration(policy.effective.absolute_ttl_seconds)} at
            most ({duration(policy.effective.admin_absolute_ttl_seconds)} for administrators).
          </p>
          <TextField
            label="Idle limit in minutes"
            name="idle"
            type="number"
            inputMode="numeric"
            optional
            min={SESSION.idleMin}
            defaultValue={minutes(policy.idle_timeout_seconds)}
            hint="A session unused this long ends."
          />
          <TextField
            label="Absolute limit in minutes"
            name="absolute"
            type="number"
            inputMode="numeric"
            optional
            min={SESSION.absoluteMin}
            defaultValue={minutes(policy.absolute_ttl_seconds)}
            hint="A session ends this long after sign-in, however active."
          />
        </>
      )}
    </SettingsSection>
  );
}

const MFA_CHOICES: { value: MfaPolicy['required']; label: string; hint: string }[] = [
  { value: 'off', label: 'Nobody', hint: 'Each person may still add a second factor to their account.' },
  { value: 'admins', label: 'Owners and Administrators', hint: 'They set one up at their next sign-in if they have none.' },
  { value: 'all', label: 'Everyone', hint: 'Each person sets one up at their next sign-in if they have none.' },
];

function MfaPolicyForm({ tenantId }: { tenantId: string }) {
  const setting = useSetting(useCallback(() => securityApi.mfaPolicy(tenantId), [tenantId]));
  const policy = setting.value;

  function submit(data: FormData) {
    const required = (data.get('required') ?? 'off') as MfaPolicy['required'];
    void setting.save(
      () => securityApi.saveMfaPolicy(tenantId, { required, new_device: data.get('new_device') === 'on' }),
      (saved) =>
        saved.required === 'off'
          ? 'Multi-factor policy saved. Nobody has to use a second factor.'
          : `Multi-factor policy saved. ${saved.required === 'all' ? 'Everyone' : 'Owners and Administrators'} must sign in with a second factor.`,
    );
  }

  return (
    <SettingsSection
      title="Multi-factor authentication"
      saveLabel="Save MFA policy"
      description="A second factor is an authenticator app or a passkey, with recovery codes as a fallback."
      {...sectionState(setting)}
      onSubmit={submit}
    >
      {policy && (
        <>
          <fieldset className="fieldset">
            <legend>Who must sign in with a second factor</legend>
            {MFA_CHOICES.map((choice) => (
              <CheckField key={choice.value} type="radio" name="required" value={choice.value} defaultChecked={policy.required === choice.value} hint={choice.hint}>
                {choice.label}
              </CheckField>
            ))}
          </fieldset>
          <CheckField name="new_device" defaultChecked={policy.new_device} hint="People with a second factor are asked for it on a device they have not used before.">
            Challenge sign-ins from new devices
          </CheckField>
        </>
      )}
    </SettingsSection>
  );
}

const CHANNELS: Option[] = [
  { value: 'sms', label: 'Text message (SMS)' },
  { value: 'whatsapp', label: 'WhatsApp' },
  { value: 'email', label: 'Email' },
];

function VerificationPolicyForm({ tenantId }: { tenantId: string }) {
  const setting = useSetting(useCallback(() => securityApi.verificationPolicy(tenantId), [tenantId]));
  const policy = setting.value;

  function submit(data: FormData) {
    void setting.save(
      () =>
        securityApi.saveVerificationPolicy(tenantId, {
          require_phone: data.get('require_phone') === 'on',
          default_channel: String(data.get('default_channel') ?? 'sms') as CodeChannel,
        }),
      (saved) => (saved.require_phone ? 'Verification policy saved. Everyone must verify a phone number before using the console.' : 'Verification policy saved.'),
    );
  }

  return (
    <SettingsSection
      title="Verification policy"
      saveLabel="Save verification policy"
      description="Email addresses are always verified. You can also require a verified phone number."
      {...sectionState(setting)}
      onSubmit={submit}
    >
      {policy && (
        <>
          <CheckField name="require_phone" defaultChecked={policy.require_phone} hint="Applies at once: anyone without one is asked to verify a phone number first, you included.">
            Require a verified phone number
          </CheckField>
          <SelectField label="Default channel for codes" name="default_channel" options={CHANNELS} defaultValue={policy.default_channel} hint="Each person may choose another one." />
        </>
      )}
    </SettingsSection>
  );
}

function sectionState(setting: { error: unknown; status: string; busy: boolean; saves: number }) {
  return { error: setting.error, status: setting.status, busy: setting.busy, formKey: setting.saves };
}

/** A labelled checkbox or radio button with a hint read after its label. */
function CheckField({
  name,
  type = 'checkbox',
  value,
  defaultChecked,
  hint,
  children,
}: {
  name: string;
  type?: 'checkbox' | 'radio';
  value?: string;
  defaultChecked: boolean;
  hint: string;
  children: string;
}) {
  const hintId = useId();
  return (
    <div className="field">
      <label className="check">
        <input name={name} type={type} value={value} defaultChecked={defaultChecked} aria-describedby={hintId} />
        <span>{children}</span>
      </label>
      <p id={hintId} className="hint">
        {hint}
      </p>
    </div>
  );
}
