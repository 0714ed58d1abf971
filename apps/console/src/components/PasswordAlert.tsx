import { useId, type Ref } from 'react';
import { errorMessage, problemOf } from '../api';

/**
 * The new password and its repetition, as every form that sets a password asks for them (sign-up
 * by invitation, reset, change): the policy hint is the field's description, and the field is
 * marked invalid while the form shows an error.
 */
export function NewPasswordFields({
  name,
  label,
  confirmLabel,
  inputRef,
  invalid,
  minLength,
}: {
  name: string;
  label: string;
  confirmLabel: string;
  inputRef: Ref<HTMLInputElement>;
  invalid: boolean;
  minLength?: number;
}) {
  const ids = { password: useId(), confirm: useId(), policy: useId() };
  return (
    <>
      <div className="field">
        <label htmlFor={ids.password}>{label}</label>
        <input
          id={ids.password}
          ref={inputRef}
          name={name}
          type="password"
          autoComplete="new-password"
          required
          minLength={minLength}
          aria-describedby={ids.policy}
          aria-invalid={invalid || undefined}
        />
        <p id={ids.policy} className="hint">
          At least 12 characters, using three of: lowercase, uppercase, digits, symbols. Hard to guess: not a common password, even with letters swapped or digits added.
        </p>
      </div>
      <div className="field">
        <label htmlFor={ids.confirm}>{confirmLabel}</label>
        <input id={ids.confirm} name="confirm" type="password" autoComplete="new-password" required minLength={minLength} />
      </div>
    </>
  );
}

/**
 * Live error region for forms that set a password: besides the message, it lists each
 * password-policy rule the server found unmet (weak-password), so the user knows what to change.
 */
export function PasswordAlert({ error }: { error: unknown }) {
  const msg = error ? errorMessage(error) : null;
  const unmet = problemOf(error)?.unmet_rules;
  const rules = Array.isArray(unmet) ? unmet : [];
  return (
    <div role="alert" className={msg ? 'alert' : 'alert alert--empty'}>
      {msg && (
        <>
          <strong className="alert__title">{msg.title}</strong>
          {rules.length > 0 ? (
            <ul className="alert__rules">
              {rules.map((r) => (
                <li key={r.rule}>{r.message}</li>
              ))}
            </ul>
          ) : (
            msg.detail && <span className="alert__detail">{msg.detail}</span>
          )}
        </>
      )}
    </div>
  );
}
