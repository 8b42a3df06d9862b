// The page's words in English and Korean. The browser's language picks one; the operator
// can switch, and the choice is kept.

const STRINGS = {
  en: {
    program: "ON AIR",
    preview: "PREVIEW",
    off: "CLEAR",
    camera: "Camera",
    connecting: "Connecting…",
    lost: "Connection lost — reconnecting…",
    lastKnown: "Last known:",
    notSure: "Not live — do not trust this colour",
    choose: "Choose your camera",
    change: "Camera",
    test: "Test",
    testBanner: "TEST — nothing here is live",
    stopTest: "End test",
    beepOn: "Beep on",
    beepOff: "Beep off",
    programVideo: "Program video",
    videoConnecting: "Connecting to the program…",
    videoWaiting: "Waiting for the program…",
    videoFailed: "Program lost — reconnecting…",
    videoDenied: "This link cannot show the program",
    videoLow: "Low data",
    videoAuto: "Auto quality",
    videoQuality: "Video quality",
    replay: "Replay",
    backToLive: "Live",
    behindLive: "behind live",
    notIncluded: "not included in this link",
    loOnly: "This link includes low quality only (the director's choice).",
    sound: "Program sound",
    fullscreen: "Full screen",
    ack: "Acknowledge",
    fromDirector: "From the director",
    tapHint: "Tap once to enable vibration and sound",
    awakeHint: "This phone may sleep: turn off auto-lock to keep the screen on",
    insecureHint: "This screen may sleep: open the https link",
    invalid: "Invalid link",
    invalidBody: "This link is not valid. Ask the director for a new one.",
    noLink: "Open the tally link the director sent you.",
    revoked: "This link was revoked",
    expired: "This link has expired",
    ended: "The session has ended",
    goneBody: "Ask the director for a new link.",
    forbidden: "This link cannot be used for this session",
    busy: "Too many attempts",
    busyBody: "Trying again in {s} s…",
    unreachable: "Cannot reach the server",
    unreachableBody: "Trying again…",
    retry: "Try again",
    noCamera: "This camera is not in the session",
    language: "한국어",
  },
  ko: {
    program: "온에어",
    preview: "프리뷰",
    off: "클리어",
    camera: "카메라",
    connecting: "연결 중…",
    lost: "연결 끊김 — 다시 연결 중…",
    lastKnown: "마지막 상태:",
    notSure: "방송 상태 아님 — 이 색을 믿지 마세요",
    choose: "카메라를 선택하세요",
    change: "카메라",
    test: "테스트",
    testBanner: "테스트 — 실제 방송 상태가 아닙니다",
    stopTest: "테스트 끝내기",
    beepOn: "소리 켜짐",
    beepOff: "소리 꺼짐",
    programVideo: "프로그램 영상",
    videoConnecting: "프로그램에 연결 중…",
    videoWaiting: "프로그램을 기다리는 중…",
    videoFailed: "프로그램 연결 끊김 — 다시 연결 중…",
    videoDenied: "이 링크로는 프로그램을 볼 수 없습니다",
    videoLow: "데이터 절약",
    videoAuto: "자동 화질",
    videoQuality: "영상 화질",
    replay: "다시 보기",
    backToLive: "라이브",
    behindLive: "라이브보다 늦음",
    notIncluded: "이 링크에 포함되지 않음",
    loOnly: "이 링크는 저화질만 볼 수 있습니다 (감독의 설정).",
    sound: "프로그램 소리",
    fullscreen: "전체 화면",
    ack: "확인",
    fromDirector: "감독 메시지",
    tapHint: "진동과 소리를 켜려면 화면을 한 번 누르세요",
    awakeHint: "화면이 꺼질 수 있습니다: 자동 잠금을 끄세요",
    insecureHint: "화면이 꺼질 수 있습니다: https 링크로 여세요",
    invalid: "잘못된 링크",
    invalidBody: "유효하지 않은 링크입니다. 감독에게 새 링크를 요청하세요.",
    noLink: "감독이 보낸 탤리 링크를 여세요.",
    revoked: "취소된 링크입니다",
    expired: "만료된 링크입니다",
    ended: "세션이 종료되었습니다",
    goneBody: "감독에게 새 링크를 요청하세요.",
    forbidden: "이 링크로는 이 세션에 접속할 수 없습니다",
    busy: "요청이 너무 많습니다",
    busyBody: "{s}초 후 다시 시도합니다…",
    unreachable: "서버에 연결할 수 없습니다",
    unreachableBody: "다시 시도 중…",
    retry: "다시 시도",
    noCamera: "세션에 없는 카메라입니다",
    language: "English",
  },
};

const KEY = "rf.lang";

export function pickLanguage() {
  const stored = localStorage.getItem(KEY);
  if (stored && STRINGS[stored]) return stored;
  const first = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return first.toLowerCase().startsWith("ko") ? "ko" : "en";
}

export function storeLanguage(lang) {
  localStorage.setItem(KEY, lang);
}

export function otherLanguage(lang) {
  return lang === "ko" ? "en" : "ko";
}

export function t(lang, key, vars = {}) {
  const text = (STRINGS[lang] || STRINGS.en)[key] || STRINGS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}
