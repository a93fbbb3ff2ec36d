import type { Connector } from './connector.ts';
import { bitrix24Connector } from './bitrix24/bitrix24-connector.ts';
import { emailConnector } from './email/email-connector.ts';
import { llmConnector } from './llm/llm-connector.ts';
import { pipedriveConnector } from './pipedrive/pipedrive-connector.ts';
import { smsConnector } from './sms/sms-connector.ts';
import { telegramConnector } from './telegram/telegram-connector.ts';
import { voximplantConnector } from './voximplant/voximplant-connector.ts';
import { vkConnector } from './vk/vk-connector.ts';

/** Every connector this server ships; each lives in its own folder beside this file. */
export const allConnectors: Connector[] = [bitrix24Connector, telegramConnector, smsConnector, voximplantConnector, pipedriveConnector, emailConnector, llmConnector, vkConnector];
