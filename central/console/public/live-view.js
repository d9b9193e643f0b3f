/* global document, location, RTCPeerConnection, MediaStream, setTimeout, setInterval, clearInterval */
/* global bc */
'use strict';
/*
 * Live view of this camera (supervisors): the console opens the gateway session and sends the
 * camera its signed live_view_start; this page answers Janus's WebRTC offer (through the console)
 * and plays the stream. No external script: plain RTCPeerConnection.
 */
(() => {
  const id = decodeURIComponent(location.pathname.split('/').pop());
  const $ = (x) => document.getElementById(x);
  let pc;
  let sid;
  const status = (t) => { $('live-status').textContent = t; };

  async function start() {
    const reason = $('live-reason').value.trim();
    if (!reason) { status('a reason is required'); return; }
    $('live-start').disabled = true;
    status('asking the camera…');
    const r = await bc.post(`/api/camera/${encodeURIComponent(id)}/live`, { reason });
    if (r.status !== 200) { status(r.body.error || `refused (${r.status})`); $('live-start').disabled = false; return; }
    sid = r.body.sessionId;
    document.body.dataset.liveSession = sid;
    document.body.dataset.livePayload = r.body.payloadSha256;
    settle();
    if (!sid) return;
    pc = new RTCPeerConnection();
    pc.ontrack = (e) => { $('live-video').srcObject = e.streams[0] || new MediaStream([e.track]); };
    pc.oniceconnectionstatechange = () => { document.body.dataset.liveIce = pc.iceConnectionState; };
    await pc.setRemoteDescription(r.body.offer);
    await pc.setLocalDescription(await pc.createAnswer());
    // Non-trickle: the answer goes once, with every candidate in it.
    await new Promise((done) => {
      if (pc.iceGatheringState === 'complete') done();
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') done(); };
      setTimeout(done, 3000);
    });
    if (!sid || !pc) return; // the camera refused meanwhile (settle said why)
    const a = await bc.post(`/api/live/${sid}/answer`, { sdp: pc.localDescription.sdp });
    if (!sid) return; // the camera refused meanwhile: settle() has said why
    if (a.status !== 200) { status(a.body.error || 'gateway refused'); return; }
    status(`live for at most ${r.body.maxS} s`);
    $('live-stop').hidden = false;
  }

  // The camera's answer to our live_view_start (cmd/result through the console's stream): a refusal
  // (paused, off duty…) is said on the page and the connection closed. It may arrive before the
  // console's own answer names the payload: kept by payload hash until then.
  const answers = new Map();
  function onResult(m) {
    if (m.id !== id) return;
    answers.set(m.result.payloadSha256, m.result);
    settle();
  }
  function settle() {
    const r = sid && answers.get(document.body.dataset.livePayload);
    if (!r) return;
    if (r.accepted) { document.body.dataset.liveAccepted = '1'; return; }
    status(`refused by the camera: ${r.reason}`);
    document.body.dataset.liveRefused = r.reason;
    if (pc) pc.close();
    pc = undefined;
    sid = undefined;
    $('live-stop').hidden = true;
    $('live-start').disabled = false;
  }

  async function stop() {
    if (!sid) return;
    await bc.post(`/api/live/${sid}/stop`, {});
    if (pc) pc.close();
    pc = undefined;
    sid = undefined;
    $('live-stop').hidden = true;
    $('live-start').disabled = false;
    status('stopped');
  }

  // camera.js logs in (bc.init): wait for it rather than a second init.
  const ready = setInterval(() => {
    if (!bc.me || !bc.csrf) return;
    clearInterval(ready);
    if (!bc.can('supervisor')) return;
    $('live').hidden = false;
    $('live-start').addEventListener('click', () => void start());
    $('live-stop').addEventListener('click', () => void stop());
    bc.stream('', { result: onResult });
  }, 50);
})();
