import { FIX_LABELS, STATES, type StateFix, type ViewState } from '../states.js';

export function StateNotice(props: { state: ViewState; onFix: (fix: StateFix) => void; labels?: Partial<Record<StateFix, string>> }) {
  const { state, onFix } = props;
  const spec = STATES[state.id];
  const fix = spec.fix;
  return (
    <div class={`notice tone-${spec.tone}`} role={spec.tone === 'error' ? 'alert' : 'status'} data-state={state.id}>
      <p class="notice-title">{spec.title}</p>
      <p class="notice-message">{spec.message(state.detail)}</p>
      {fix && (
        <button type="button" class="button" onClick={() => onFix(fix)}>
          {props.labels?.[fix] ?? FIX_LABELS[fix]}
        </button>
      )}
    </div>
  );
}
