/*
 * Conveyor robot call — a VoxEngine scenario.
 *
 * Paste this into a VoxImplant scenario, attach the scenario to a routing rule, and put the rule's id
 * into the Conveyor connection (`rule_id`). Conveyor's `voximplant.call` node starts it with
 * StartScenarios and passes `script_custom_data` = {"phone": "79161234567", "callback_url": "…", …your
 * `custom` fields}. The scenario calls the phone, tells a person from an answering machine, and POSTs
 * the outcome to `callback_url`:
 *   {"outcome": "answered" | "no_answer" | "busy" | "voicemail" | "wrong_number" | "failed",
 *    "code": <SIP code when the call failed>, "duration": <seconds talked>, "amd": <AMD result class>}
 * Conveyor then follows the node's on_answered / on_no_answer / on_busy / on_voicemail / … edge.
 *
 * Not run by Conveyor's tests; it uses only the documented VoxEngine API (Modules.AMD, callPSTN,
 * CallEvents, AMD.Events, Net.httpRequestAsync).
 */
require(Modules.AMD);

// Your rented or verified VoxImplant number, digits only, e.g. '74951234567'.
// `caller_id` in the node's `custom` overrides it per call.
var CALLER_ID = '';
// Answering-machine detection model and time limit (ms after the callee answers; at most 20000).
var AMD_MODEL = AMD.Model.RU;
var AMD_TIMEOUT_MS = 6500;
// Attempts to deliver the outcome to Conveyor (it answers 2xx once the task has it).
var REPORT_ATTEMPTS = 3;

var data = {};
var call = null;
var reported = false;
var amdResult = null;
var connectedAt = 0;

/** SIP final answers → the outcome Conveyor routes on. */
function outcomeOfCode(code) {
  switch (Number(code)) {
    case 486: case 600: return 'busy';
    case 480: case 408: case 487: case 603: return 'no_answer';
    case 404: case 484: case 410: case 604: return 'wrong_number';
    default: return 'failed';
  }
}

/** POSTs the outcome once, retrying a failed delivery, then ends the session. */
function report(result) {
  if (reported) return;
  reported = true;
  var body = JSON.stringify(Object.assign({ phone: data.phone }, result));
  var attempt = 0;
  function send() {
    attempt += 1;
    Net.httpRequestAsync(data.callback_url, {
      method: 'POST',
      headers: ['Content-Type: application/json'],
      postData: body,
    }).then(function (res) {
      if (res.code >= 200 && res.code < 300) return finish();
      Logger.write('Conveyor answered ' + res.code + ' to the call result: ' + res.text);
      retryOrFinish();
    }).catch(function (e) {
      Logger.write('Could not deliver the call result: ' + e);
      retryOrFinish();
    });
  }
  function retryOrFinish() {
    if (attempt < REPORT_ATTEMPTS) setTimeout(send, 2000 * attempt);
    else finish();
  }
  function finish() {
    try {
      if (call) call.hangup();
    } catch (e) {
      // already ended
    }
    VoxEngine.terminate();
  }
  send();
}

/**
 * A person is on the line. Replace this with what the call is for: play a message, ask a question
 * (call.say / ASR), or connect an operator. By default it says `custom.say` if given and hangs up.
 */
function onHuman() {
  if (!data.say) return call.hangup();
  call.say(String(data.say));
  call.addEventListener(CallEvents.PlaybackFinished, function () {
    call.hangup();
  });
}

VoxEngine.addEventListener(AppEvents.Started, function () {
  try {
    data = JSON.parse(VoxEngine.customData() || '{}');
  } catch (e) {
    Logger.write('script_custom_data is not JSON: ' + e);
    VoxEngine.terminate();
    return;
  }
  if (!data.callback_url) {
    Logger.write('no callback_url in script_custom_data; nothing to report to');
    VoxEngine.terminate();
    return;
  }
  var phone = String(data.phone || '').replace(/\D/g, '');
  if (!phone) return report({ outcome: 'wrong_number', reason: 'no phone' });

  var amd = AMD.create({ model: AMD_MODEL, timeout: AMD_TIMEOUT_MS });
  call = VoxEngine.callPSTN(phone, String(data.caller_id || CALLER_ID), { amd: amd });

  amd.addEventListener(AMD.Events.DetectionComplete, function (e) {
    amdResult = e.resultClass;
    if (e.resultClass === AMD.ResultClass.VOICEMAIL) return report({ outcome: 'voicemail', amd: String(e.resultClass) });
    // HUMAN, or TIMEOUT (could not tell): treat as a person; the result is reported when the call ends.
    if (e.resultClass === AMD.ResultClass.HUMAN || e.resultClass === AMD.ResultClass.TIMEOUT) onHuman();
  });
  amd.addEventListener(AMD.Events.DetectionError, function (e) {
    Logger.write('AMD error: ' + e.message);
    onHuman();
  });

  call.addEventListener(CallEvents.Connected, function () {
    connectedAt = Date.now();
  });
  call.addEventListener(CallEvents.Failed, function (e) {
    report({ outcome: outcomeOfCode(e.code), code: e.code, reason: e.reason });
  });
  call.addEventListener(CallEvents.Disconnected, function (e) {
    var duration = e.duration !== undefined ? e.duration : Math.round((Date.now() - connectedAt) / 1000);
    report({ outcome: 'answered', duration: duration, amd: amdResult === null ? null : String(amdResult) });
  });
});
