import { ApiError, errorMessage } from '../api';

/**
 * Live error region for forms that set a password: besides the message, it lists each
 * password-policy rule the server found unmet (weak-password), so the user knows what to change.
 */
export function PasswordAlert({ error }: { error: unknown }) {
  const msg = error ? errorMessage(error) : null;
  const rules = error instanceof ApiError ? error.unmetRules : [];
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
