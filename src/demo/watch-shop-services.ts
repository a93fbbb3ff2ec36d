import { FakeBitrix24 } from '../connectors/bitrix24/fake-bitrix24.ts';
import { FakeSmsRu } from '../connectors/sms/fake-smsru.ts';
import { FakeTelegram } from '../connectors/telegram/fake-telegram.ts';
import { FakeVoximplant } from '../connectors/voximplant/fake-voximplant.ts';

/** The watch shop's services on loopback (Bitrix24, Telegram, SMS.ru, VoxImplant) and the connections to them. */
export class WatchShopServices {
  readonly bitrix: FakeBitrix24;
  readonly telegram = new FakeTelegram();
  readonly sms = new FakeSmsRu();
  readonly vox = new FakeVoximplant();
  private urls: string[] = [];

  constructor(bitrix: { ratePerSecond?: number; burst?: number } = {}) {
    this.bitrix = new FakeBitrix24(bitrix);
  }

  async start(): Promise<this> {
    this.urls = await Promise.all([this.bitrix.start(), this.telegram.start(), this.sms.start(), this.vox.start()]);
    return this;
  }

  /** `{connector: settings}` for the project's `default` connections. */
  connections(): Record<string, Record<string, unknown>> {
    const [, tg, sms, vox] = this.urls;
    return {
      bitrix24: { webhook_url: this.bitrix.webhookUrl },
      telegram: { bot_token: this.telegram.token, api_url: tg },
      sms: { gateway: 'smsru', api_id: this.sms.apiId, api_url: sms },
      voximplant: { account_id: this.vox.accountId, api_key: this.vox.apiKey, rule_id: this.vox.ruleIds[0], api_url: vox },
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.bitrix.close(), this.telegram.close(), this.sms.close(), this.vox.close()]);
  }
}
