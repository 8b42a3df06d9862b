"""Korean for the core's own words: status and error text made in app/, media/ and the
backend, which reach the window as plain English (app never imports ui).

Each key is the English the core writes, with {0}, {1} ... where it puts a value; the value
is translated in turn when it is itself one of these (ui/core_text.py). A core message
added without an entry here shows in English and tests/ui/test_i18n.py fails.
"""

from __future__ import annotations

CORE_KO: dict[str, str] = {
    # --- pieces that other messages are built from -------------------------------------
    "{0}: {1}": "{0}: {1}",
    "{0} ({1})": "{0} ({1})",
    "{0}.": "{0}.",
    "{0}; {1}": "{0}; {1}",
    # --- the session link (app/session_link) ---------------------------------------------
    "Choose or create a session first.": "먼저 세션을 고르거나 만드세요.",
    "Go live first.": "먼저 송출을 시작하세요.",
    "Go live first: messages travel over the relay.": (
        "먼저 송출을 시작하세요: 메시지는 릴레이로 전달됩니다."
    ),
    "Go live first: the phones are reached by the relay.": (
        "먼저 송출을 시작하세요: 휴대폰은 릴레이로 연결됩니다."
    ),
    "Log in to the ReturnFeed cloud first.": "먼저 ReturnFeed 클라우드에 로그인하세요.",
    "Unexpected error: {0}": "예기치 않은 오류: {0}",
    "no camera phone {0} has joined": "카메라 휴대폰 {0}은(는) 들어오지 않았습니다",
    "camera {0} has no link to revoke": "카메라 {0}에는 취소할 링크가 없습니다",
    "the viewers have no link to revoke": "시청자 링크가 없어 취소할 수 없습니다",
    "this session has no camera {0}": "이 세션에는 카메라 {0}이(가) 없습니다",
    "connecting": "연결 중",
    "relay: {0}": "릴레이: {0}",
    "Another director took this session over at {0}.": (
        "다른 감독이 {0}에 이 세션의 제어권을 가져갔습니다."
    ),
    "stopped: {0}": "멈춤: {0}",
    "reconnecting in {0} s ({1})": "{0}초 후 다시 연결 ({1})",
    "another director is connected to this session (since {0})": (
        "다른 감독이 이 세션에 연결되어 있습니다 ({0}부터)"
    ),
    "{0} other directors are connected to this session (since {1})": (
        "다른 감독 {0}명이 이 세션에 연결되어 있습니다 ({1}부터)"
    ),
    "tally only: this app sends no video": "탤리 전용: 이 앱은 영상을 보내지 않습니다",
    "tally only: this backend takes no video (it has no SRT ingest)": (
        "탤리 전용: 이 백엔드는 영상을 받지 않습니다 (SRT 수신이 없음)"
    ),
    "The program stream cannot start: {0}": "프로그램 스트림을 시작할 수 없습니다: {0}",
    "another sender is publishing this layer ({0})": (
        "다른 송출기가 이 레이어를 보내고 있습니다 ({0})"
    ),
    "SRT credentials not renewed, {0}: {1}": "SRT 자격 증명을 갱신하지 못함, {0}: {1}",
    "at the next refusal": "다음 거부 때 다시 시도",
    "again in {0} s": "{0}초 후 다시 시도",
    "phone list not updated: {0}": "휴대폰 목록을 갱신하지 못함: {0}",
    "{0}: {1} packets arrived too late to play at the backend: raise the SRT latency": (
        "{0}: 패킷 {1}개가 백엔드에 너무 늦게 도착해 재생되지 못했습니다: SRT 지연을 늘리세요"
    ),
    "expiring links not re-issued yet: {0}": "만료되는 링크를 아직 다시 발급하지 못함: {0}",
    "failed ({0}); restarting in {1} s": "실패 ({0}); {1}초 후 다시 시작",
    "{0} did not answer in time": "{0}이(가) 제때 응답하지 않았습니다",
    "cannot reach {0}: {1}": "{0}에 연결할 수 없습니다: {1}",
    "{0}; log in again": "{0}; 다시 로그인하세요",
    "{0} {1}: HTTP {2}": "{0} {1}: HTTP {2}",
    "All connection attempts failed": "모든 연결 시도가 실패했습니다",
    "the core did not start in time": "코어가 제때 시작하지 않았습니다",
    "the core is not running": "코어가 실행 중이 아닙니다",
    "the control API cannot listen on {0}:{1}: {2}": (
        "제어 API가 {0}:{1}에서 대기할 수 없습니다: {2}"
    ),
    "Address already in use": "주소가 이미 사용 중입니다",
    # --- the program stream's layers (media/send) ----------------------------------------
    "idle": "대기",
    "connected": "연결됨",
    "rejected": "거부됨",
    "retrying": "다시 시도 중",
    "stopped": "멈춤",
    "not sent": "보내지 않음",
    "connection lost": "연결 끊김",
    "waiting for a keyframe": "키프레임 기다리는 중",
    "no answer from {0}": "{0}에서 응답 없음",
    "{0} (retry in {1} s)": "{0} ({1}초 후 다시 시도)",
    "wrong passphrase": "암호가 틀림",
    "encryption mismatch (one side has no passphrase)": "암호화 불일치 (한쪽에 암호가 없음)",
    "the listener refused our FEC settings (--srt-fec)": (
        "수신 측이 FEC 설정을 거부했습니다 (--srt-fec)"
    ),
    "streamid not understood": "스트림 ID를 이해하지 못함",
    "publish token not accepted": "송출 토큰이 받아들여지지 않음",
    "streamid refused (unknown session or wrong publish token)": (
        "스트림 ID 거부 (모르는 세션이거나 송출 토큰이 틀림)"
    ),
    "unknown session": "모르는 세션",
    "listener overloaded": "수신 측 과부하",
    "listener full": "수신 측이 가득 참",
    "listener backlog full": "수신 측 대기열이 가득 참",
    "this layer already has a publisher": "이 레이어에는 이미 송출기가 있습니다",
    "listener shutting down": "수신 측이 종료 중",
    "listener error": "수신 측 오류",
    "refused: {0} ({1})": "거부됨: {0} ({1})",
    "{0} ms: RTT {1} ms + {2}, {3} repair chance (loss {4} %)": (
        "{0} ms: RTT {1} ms + {2}, 복구 기회 {3}번 (손실 {4} %)"
    ),
    "{0} ms: RTT {1} ms + {2}, {3} repair chances (loss {4} %)": (
        "{0} ms: RTT {1} ms + {2}, 복구 기회 {3}번 (손실 {4} %)"
    ),
    "{0}, floor {1}": "{0}, 최소 {1}",
    "{0}, cap {1}": "{0}, 최대 {1}",
    "{0} ms: {1}": "{0} ms: {1}",
    "set by hand": "직접 설정",
    "{0} profile, no RTT measured yet": "{0} 프로필, 아직 RTT 측정 없음",
    "lan": "LAN",
    "wan": "WAN",
    "unexpected error: {0}": "예기치 않은 오류: {0}",
    # --- the switcher's engine (app/engine) ----------------------------------------------
    "preview cannot change while a transition is running": (
        "트랜지션 중에는 프리뷰를 바꿀 수 없습니다"
    ),
    "nothing on preview to cut to": "컷할 프리뷰 소스가 없습니다",
    "a transition is already running": "이미 트랜지션이 진행 중입니다",
    "nothing on preview to take": "가져갈 프리뷰 소스가 없습니다",
    "nothing on preview to mix to": "믹스할 프리뷰 소스가 없습니다",
    "no source named {0}": "{0}(이)라는 소스가 없습니다",
    "no audio channel named {0}": "{0}(이)라는 오디오 채널이 없습니다",
    "no camera {0}": "카메라 {0}이(가) 없습니다",
    # --- sound (media/audio) ---------------------------------------------------------------
    "nothing above -60 dBFS for {0} s": "{0}초 동안 -60 dBFS 넘는 소리가 없음",
    "the source sends pictures but no sound": "소스가 영상만 보내고 소리는 보내지 않습니다",
    "PortAudio found no audio input device on this machine": (
        "PortAudio가 이 컴퓨터에서 오디오 입력 장치를 찾지 못했습니다"
    ),
    "PortAudio library not available: {0}": "PortAudio 라이브러리를 쓸 수 없습니다: {0}",
    "no audio input device matches {0} (have {1})": (
        "{0}에 맞는 오디오 입력 장치가 없습니다 (있는 장치: {1})"
    ),
    # --- sign-in through a provider (app/session_link/oidc_login.py, cloud/auth/oidc*.py) --
    "no sign-in came back from the browser in {0} s": (
        "{0}초 안에 브라우저에서 로그인 결과가 돌아오지 않았습니다"
    ),
    "no browser could be opened; open {0} in one": (
        "브라우저를 열 수 없습니다; 브라우저에서 {0}을(를) 여세요"
    ),
    "the sign-in was refused": "로그인이 거부되었습니다",
    "{0} has not verified this account's email address; verify it there and sign in again": (
        "{0}에서 이 계정의 이메일 주소를 확인하지 않았습니다; 그곳에서 확인한 뒤 다시 로그인하세요"
    ),
    "{0}: the ID token has expired": "{0}: ID 토큰이 만료되었습니다",
    "{0}: the ID token's {1} is wrong or missing": "{0}: ID 토큰의 {1} 값이 틀리거나 없습니다",
    "{0}: the ID token is invalid ({1})": "{0}: ID 토큰이 올바르지 않습니다 ({1})",
    "{0} refused the login code ({1})": "{0}이(가) 로그인 코드를 거부했습니다 ({1})",
    "{0}: cannot read its {1} ({2})": "{0}: {1}을(를) 읽을 수 없습니다 ({2})",
    "discovery document": "디스커버리 문서",
    "signing keys (JWKS)": "서명 키",
    "{0}: discovery names issuer {1}, configured {2}": (
        "{0}: 디스커버리의 발급자는 {1}, 설정된 발급자는 {2}입니다"
    ),
    "{0}: its token endpoint is unreachable": "{0}: 토큰 주소에 연결할 수 없습니다",
    "{0} sent no ID token": "{0}이(가) ID 토큰을 보내지 않았습니다",
    "{0}: its {1} is not an object": "{0}: {1}이(가) 객체가 아닙니다",
    "{0}: discovery lacks {1}": "{0}: 디스커버리에 {1}이(가) 없습니다",
    "{0}: bad JWKS": "{0}: 서명 키 목록이 올바르지 않습니다",
    "{0} is no longer configured": "{0}은(는) 더 이상 설정되어 있지 않습니다",
    "{0} did not sign you in ({1})": "{0}에서 로그인하지 못했습니다 ({1})",
    "sign in again": "다시 로그인하세요",
    "this sign-in code is unknown, expired or used already; sign in again": (
        "알 수 없거나 만료되었거나 이미 쓴 로그인 코드입니다; 다시 로그인하세요"
    ),
    "code_verifier does not match the code_challenge": ("로그인 검증 값이 맞지 않습니다"),
    "no OIDC provider {0} is configured": "로그인 제공자 {0}은(는) 설정되어 있지 않습니다",
    # --- the backend's refusals (cloud/) ---------------------------------------------------
    "email or password is wrong": "이메일 또는 비밀번호가 틀립니다",
    "an account with this email already exists": "이 이메일로 된 계정이 이미 있습니다",
    "refresh token is invalid": "로그인 정보가 올바르지 않습니다",
    "this login has ended; log in again": "로그인이 끝났습니다; 다시 로그인하세요",
    "refresh token has expired; log in again": "로그인이 만료되었습니다; 다시 로그인하세요",
    "the account no longer exists": "계정이 더 이상 없습니다",
    "no such session": "그런 세션이 없습니다",
    "the session has ended": "세션이 끝났습니다",
    "the session has ended and can no longer change": "세션이 끝나서 더 이상 바꿀 수 없습니다",
    "no such invite": "그런 초대 링크가 없습니다",
    "this invite link has expired": "이 초대 링크는 만료되었습니다",
    "this invite link was revoked by the director": "감독이 이 초대 링크를 취소했습니다",
    "the director revoked this invite link": "감독이 이 초대 링크를 취소했습니다",
    "the director ended the session": "감독이 세션을 끝냈습니다",
    "camera {0} does not exist in this session": "이 세션에는 카메라 {0}이(가) 없습니다",
    "no such session, or it has ended": "그런 세션이 없거나 끝났습니다",
    "too many {0} attempts; try again in {1} s": (
        "{0} 시도가 너무 많습니다; {1}초 후 다시 시도하세요"
    ),
    "login": "로그인",
    "registration": "가입",
    "invite": "초대",
    "the relay is shutting down": "릴레이가 종료 중입니다",
    "the relay room closed; reconnect": "릴레이 방이 닫혔습니다; 다시 연결합니다",
    "the server cannot check tokens now; retry": (
        "서버가 지금 토큰을 확인할 수 없습니다; 다시 시도합니다"
    ),
    "too slow: the send queue is full": "너무 느림: 보내기 대기열이 가득 찼습니다",
    "heard nothing from the relay": "릴레이에서 응답이 없습니다",
    # recordings (app/session_link/recordings.py and the backend's answers)
    "no recording {0}": "녹화 {0}이(가) 없습니다",
    "cannot write {0}: {1}": "{0}에 쓸 수 없습니다: {1}",
    "no such recording (or it was deleted)": "그런 녹화가 없습니다 (또는 삭제되었습니다)",
    "the recording is still being written: switch recording off or stop the show first": (
        "녹화가 아직 기록 중입니다: 먼저 녹화를 끄거나 방송을 멈추세요"
    ),
    "this backend keeps no recordings": "이 서버는 녹화를 보관하지 않습니다",
    "this backend keeps no recordings (it runs with --no-recording)": (
        "이 서버는 녹화를 보관하지 않습니다 (--no-recording으로 실행 중)"
    ),
    "recording is switched off for this session": "이 세션의 녹화가 꺼져 있습니다",
    "each Go Live of this session is recorded": "이 세션의 모든 송출이 녹화됩니다",
    # audience links (app/session_link/audience.py and the backend's answers)
    "an audience link is valid from {0} s to {1} days": (
        "관객 링크의 유효 기간은 {0}초에서 {1}일까지입니다"
    ),
    "only the session's director may do this": "세션의 감독만 할 수 있습니다",
}
