import { useEffect, useRef, useState } from 'react';
import { mfaApi, onStepUpRequired, stepUp, type MfaMethod } from '../api';
import { Dialog, ErrorAlert } from './ui';
import { SecondFactorForm } from './MfaParts';

/**
 * FR-AUTH-014: when a sensitive action answers step-up-required, asks for a second factor in a
 * dialog; the action is sent again once it is given. Mounted once while signed in.
 */
export function StepUpDialog() {
  const [methods, setMethods] = useState<MfaMethod[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const pending = useRef<((done: boolean) => void) | null>(null);

  useEffect(
    () =>
      onStepUpRequired(
        () =>
          new Promise<boolean>((resolve) => {
            pending.current?.(false);
            pending.current = resolve;
            setError(null);
            mfaApi.status().then(
              (state) => {
                const kinds = [...new Set(state.factors.filter((f) => f.status === 'active').map((f) => f.kind))];
                setMethods(kinds.length > 0 && state.recovery_codes_remaining > 0 ? [...kinds, 'recovery_code'] : kinds);
              },
              (err: unknown) => {
                setError(err);
                setMethods([]);
              },
            );
          }),
      ),
    [],
  );

  function finish(done: boolean) {
    pending.current?.(done);
    pending.current = null;
    setMethods(null);
  }

  const open = methods !== null;
  return (
    <Dialog open={open} title="Confirm it is you" onClose={() => finish(false)}>
      <ErrorAlert error={error} />
      {methods && methods.length > 0 ? (
        <>
          <p className="dialog__body">This action needs a second factor proven in the last few minutes.</p>
          <SecondFactorForm
            methods={methods}
            submitLabel="Confirm"
            passkeyOptions={() => mfaApi.stepUpPasskeyOptions()}
            onSubmit={async (factor) => {
              await stepUp(factor);
              finish(true);
            }}
            onCancel={() => finish(false)}
          />
        </>
      ) : (
        <>
          <p className="dialog__body">
            This action needs two-step verification. Set up a second factor on your <a href="#/account" onClick={() => finish(false)}>Account</a> page first.
          </p>
          <div className="actions">
            <button type="button" className="button" onClick={() => finish(false)}>
              Close
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}
