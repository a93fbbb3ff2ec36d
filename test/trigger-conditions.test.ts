import { describe, expect, it } from 'vitest';
import { checkTrigger, triggerApplies, type TriggerDefinition } from '../src/funnels/trigger.ts';
import type { InboundEvent } from '../src/funnels/inbound-event.ts';
import type { Contact } from '../src/storage/contact-store.ts';

const contact = (vars: Record<string, unknown>, tags: string[] = []): Contact => ({
  id: 7, platform: 'telegram', userId: '42', name: 'Анна', username: null, status: 'active', tags, taggedAt: {}, vars,
  bots: [{ connection: 'open-bot', chatId: '42', status: 'active', firstSeen: 0 }], createdAt: 0,
});
const message: InboundEvent = { platform: 'telegram', botId: '1', userId: '42', chatId: '42', kind: 'message', text: 'хочу', eventId: 'telegram:1', at: 0 };
// 2026-11-23 is a Monday; 06:30 UTC is 09:30 in Moscow, 18:30 UTC is 21:30.
const MORNING = Date.parse('2026-11-23T06:30:00Z');
const NIGHT = Date.parse('2026-11-23T18:30:00Z');

describe('trigger conditions on variables and hours', () => {
  it('a variable condition holds when the contact has one of the values, compared as text', () => {
    const t: TriggerDefinition = { on: 'message', vars: { city: ['Москва', 'Казань'], age: 25 } };
    expect(triggerApplies(t, message, 'open-bot', contact({ city: 'Казань', age: '25' }), MORNING)).toBe('yes');
    expect(triggerApplies(t, message, 'open-bot', contact({ city: 'Тула', age: 25 }), MORNING)).toBe('no');
    expect(triggerApplies(t, message, 'open-bot', contact({ city: 'Москва' }), MORNING)).toBe('no'); // age not set
  });

  it('hours of the day in the given timezone, on the given weekdays', () => {
    const t: TriggerDefinition = { on: 'message', hours: { from: '09:00', to: '21:00', timezone: 'Europe/Moscow' } };
    expect(triggerApplies(t, message, 'open-bot', contact({}), MORNING)).toBe('yes');
    expect(triggerApplies(t, message, 'open-bot', contact({}), NIGHT)).toBe('no');
    const weekends: TriggerDefinition = { on: 'message', hours: { from: '00:00', to: '24:00', days: [6, 7] } };
    expect(triggerApplies(weekends, message, 'open-bot', contact({}), MORNING)).toBe('no');
    expect(triggerApplies(weekends, message, 'open-bot', contact({}), MORNING + 5 * 86_400_000)).toBe('yes');
  });

  it('a bad hours setting is refused at deploy, naming the field', () => {
    expect(checkTrigger({ on: 'message', hours: { from: '9', to: '21:00', timezone: 'Mars/Base' } }, 2)).toEqual([
      { path: 'triggers[2].hours.from', message: expect.stringMatching(/bad time "9"/) },
      { path: 'triggers[2].hours.timezone', message: expect.stringMatching(/unknown timezone "Mars\/Base"/) },
    ]);
  });
});
