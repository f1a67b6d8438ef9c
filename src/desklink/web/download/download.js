// The download page: the server chose the section from the User-Agent;
// where the browser has navigator.userAgentData (Chromium), its platform is
// more reliable (a frozen User-Agent may say Windows 10 on 11, or lie about
// the system altogether), so the section shown follows it. "Other systems"
// shows every section.

const PLATFORMS = { windows: 'windows', macos: 'macos', linux: 'linux' };

/** linux / windows / macos from navigator.userAgentData, or null. */
export function clientSystem(nav = navigator) {
  const platform = nav.userAgentData && nav.userAgentData.platform;
  if (!platform) return null;
  return PLATFORMS[platform.toLowerCase().replace(/\s+/g, '')] || null;
}

function show(system) {
  for (const section of document.querySelectorAll('section.system')) {
    section.hidden = system !== null && section.dataset.system !== system;
  }
}

function start() {
  const body = document.body;
  const system = clientSystem();
  if (system && system !== body.dataset.detected) {
    body.dataset.detected = system;
    show(system);
  }
  const all = document.getElementById('show-all');
  if (all) {
    all.addEventListener('click', (event) => {
      event.preventDefault();
      show(null);
      all.hidden = true;
    });
  }
}

start();
