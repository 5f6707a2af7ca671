import { describe, expect, it } from 'vitest';
import { addEventTypes, EVENT_TYPES } from './event-types.js';

describe('addEventTypes', () => {
  it.each([
    { name: 'one type', text: 'status_update_event', previous: undefined, want: ['status_update_event'] },
    { name: 'several, comma-separated, with spaces', text: 'deployment_info, deployment_success', previous: undefined, want: ['deployment_info', 'deployment_success'] },
    { name: 'added to earlier ones, without repeats', text: 'deployment_info,agent_lost_event', previous: ['deployment_info'], want: ['deployment_info', 'agent_lost_event'] },
  ])('$name', ({ text, previous, want }) => {
    expect(addEventTypes(text, previous)).toEqual(want);
  });

  it.each([
    { name: 'an unknown type', text: 'status_update', want: `unknown event type "status_update": expected one of ${EVENT_TYPES.join(', ')}` },
    { name: 'nothing', text: ' , ', want: 'bad event type " , ": expected a name such as status_update_event' },
  ])('refuses $name', ({ text, want }) => {
    expect(() => addEventTypes(text, undefined)).toThrow(want);
  });
});
