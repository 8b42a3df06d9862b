"""Korean for every English string the UI passes to tr(); English is the source text.

tests/ui/test_i18n.py fails when a tr() literal in ui/ has no entry here.
"""

from __future__ import annotations

KO: dict[str, str] = {
    # switcher
    "PREVIEW": "프리뷰",
    "PROGRAM": "프로그램",
    "PVW": "PVW",
    "PGM": "PGM",
    "FTB": "FTB",
    "Buses": "버스",
    "Transition": "트랜지션",
    "Cut (Space)": "컷 (Space)",
    "Auto transition (Enter)": "자동 트랜지션 (Enter)",
    "Fade to black (F)": "페이드 투 블랙 (F)",
    "Style": "방식",
    "Rate": "길이",
    "FTB rate": "FTB 길이",
    " fr": " 프레임",
    "Mix": "믹스",
    "Dip": "딥",
    "Cut": "컷",
    "T-bar: a manual mix": "T바: 수동 믹스",
    "Click: preview · Double-click: program": "클릭: 프리뷰 · 더블클릭: 프로그램",
    # audio
    "Audio": "오디오",
    "Gain (dB)": "게인 (dB)",
    "MUTE": "뮤트",
    "AFV": "AFV",
    "Always live": "항상 출력",
    "Always live; AFV: live only while a source is on air": (
        "항상 출력; AFV: 소스가 프로그램에 나갈 때만 출력"
    ),
    "Live only while {0} is on air": "{0}이(가) 프로그램에 나갈 때만 출력",
    "Short-term loudness (LUFS)": "단기 라우드니스 (LUFS)",
    "{0} Hz · {1} ch": "{0} Hz · {1}채널",
    "LOST": "끊김",
    "SILENT": "무음",
    "LIMIT": "리미터",
    "The limiter holds the mix {0:.1f} dB down": "리미터가 믹스를 {0:.1f} dB 낮추고 있습니다",
    "NO AUDIO": "오디오 없음",
    "STOPPED": "정지됨",
    "STARTING": "시작 중",
    "Add input…": "입력 추가…",
    "Test tone": "테스트 톤",
    "Remove input": "입력 제거",
    "No audio input devices found": "오디오 입력 장치를 찾지 못했습니다",
    "Audio devices unavailable: {0}": "오디오 장치를 쓸 수 없습니다: {0}",
    "Could not change the audio inputs: {0}": "오디오 입력을 바꾸지 못했습니다: {0}",
    # go live
    "Go Live": "송출",
    "Cloud account": "클라우드 계정",
    "Backend": "서버",
    "Email": "이메일",
    "Password": "비밀번호",
    "Log in": "로그인",
    "Log out": "로그아웃",
    "Cancel": "취소",
    "Working…": "처리 중…",
    "Logged in as {0}": "{0} 계정으로 로그인됨",
    "Not logged in": "로그인하지 않음",
    "Enter the backend address, your email and password.": (
        "서버 주소, 이메일, 비밀번호를 입력하세요."
    ),
    "Session": "세션",
    "Reload sessions": "세션 새로 고침",
    "New session name": "새 세션 이름",
    " cams": "대",
    "Create": "만들기",
    "Show": "방송",
    "— choose a session —": "— 세션 선택 —",
    "No session chosen": "선택된 세션 없음",
    "{0} · {1} cameras · SRT credentials ready": "{0} · 카메라 {1}대 · SRT 인증 정보 준비됨",
    "On air": "온에어",
    "GO LIVE": "송출 시작",
    "STOP": "송출 중지",
    "Tally relay": "탈리 릴레이",
    "Phones": "휴대폰",
    "Stream": "스트림",
    "tally only: the program stream is not sent yet": (
        "탈리만 전송: 프로그램 스트림은 아직 보내지 않음"
    ),
    "off": "꺼짐",
    "connected": "연결됨",
    "connecting…": "연결 중…",
    "{0} joined · {1} viewers": "{0}명 참여 · 시청자 {1}명",
    # cameras
    "Cameras": "카메라",
    "Phone cameras": "휴대폰 카메라",
    "Camera": "카메라",
    "Source": "소스",
    "Tally": "탈리",
    "OFF": "꺼짐",
    "Choose a session on the Go Live tab to see its cameras.": (
        "송출 탭에서 세션을 선택하면 카메라가 표시됩니다."
    ),
    "Links": "링크",
    "Copy camera link": "카메라 링크 복사",
    "Copy viewer link": "시청자 링크 복사",
    "Viewer QR": "시청자 QR",
    "Viewers": "시청자",
    "Camera {0} · {1}": "카메라 {0} · {1}",
    "No link yet": "아직 링크 없음",
    "(none)": "(없음)",
    "Messages to operators": "카메라 감독에게 메시지",
    "e.g. Cam 2, go wide": "예: 2번 카메라, 와이드로",
    "Send": "보내기",
    "All cameras": "모든 카메라",
    "all": "전체",
    "seen by {0}": "{0}번 확인",
    "not seen yet": "아직 확인 안 함",
    # window, settings
    "&Show": "방송(&S)",
    "Settings…": "설정…",
    "Settings": "설정",
    "Quit": "종료",
    "Control API {0}": "제어 API {0}",
    "Copy token": "토큰 복사",
    "Control token copied": "제어 토큰을 복사했습니다",
    "Language and NDI discovery server changes apply after a restart.": (
        "언어와 NDI 검색 서버 변경은 다시 시작하면 적용됩니다."
    ),
    "Encoder and SRT latency apply at the next Go Live.": (
        "인코더와 SRT 지연은 다음 송출 시작부터 적용됩니다."
    ),
    "NDI discovery server": "NDI 검색 서버",
    "NDI bandwidth": "NDI 대역폭",
    "Proxy (less network, lower resolution)": "프록시 (네트워크 적게, 낮은 해상도)",
    "Full (the sender's full stream)": "전체 (송신기의 원본 스트림)",
    "Auto uses {0} on this machine.": "자동: 이 컴퓨터에서는 {0}을(를) 씁니다.",
    "auto (hardware if one opens, else libx264)": "자동 (열리는 하드웨어, 없으면 libx264)",
    "{0} (does not open here)": "{0} (이 컴퓨터에서 열리지 않음)",
    "Follow the link": "링크에 맞춤",
    "The latency is derived from the measured round trip and loss": (
        "측정한 왕복 시간과 손실로 지연을 정합니다"
    ),
    "NDI discovery server: host or host:port, comma-separated.": (
        "NDI 검색 서버: 호스트 또는 호스트:포트, 쉼표로 구분합니다."
    ),
    "Sources, NDI and the multiview layout apply at once. "
    "Encoder and SRT latency apply at the next Go Live; "
    "language and an NDI discovery server at the next start.": (
        "소스, NDI, 멀티뷰 배치는 바로 적용됩니다. 인코더와 SRT 지연은 다음 송출 시작부터, "
        "언어와 NDI 검색 서버는 다음 실행부터 적용됩니다."
    ),
    # settings read from an older or damaged file
    "Saved sources could not be read ({0}); test patterns are used instead.": (
        "저장된 소스를 읽을 수 없어 ({0}) 테스트 패턴을 씁니다."
    ),
    "A saved audio input could not be read and was left out: {0}": (
        "저장된 오디오 입력을 읽을 수 없어 뺐습니다: {0}"
    ),
    "The encoder setting {0} is now called {1}.": "인코더 설정 {0}은(는) 이제 {1}입니다.",
    "Unknown encoder {0} in the settings; auto is used.": (
        "설정의 인코더 {0}을(를) 알 수 없어 자동을 씁니다."
    ),
    "SRT latency {0} in the settings is not usable; it follows the link.": (
        "설정의 SRT 지연 {0}은(는) 쓸 수 없어 링크에 맞춥니다."
    ),
    "SRT latency {0} ms is outside {1}-{2} ms; {3} ms is used.": (
        "SRT 지연 {0} ms는 {1}-{2} ms 밖이라 {3} ms를 씁니다."
    ),
    "Unknown NDI bandwidth {0} in the settings; proxy is used.": (
        "설정의 NDI 대역폭 {0}을(를) 알 수 없어 프록시를 씁니다."
    ),
    "Unknown language {0} in the settings; the system's is used.": (
        "설정의 언어 {0}을(를) 알 수 없어 시스템 언어를 씁니다."
    ),
    # the encoder in use
    "Encoder {0} ({1})": "인코더 {0} ({1})",
    "auto: the first hardware encoder that opens here": "자동: 여기서 처음 열린 하드웨어 인코더",
    "auto: no hardware encoder opens here (tried {0})": (
        "자동: 여기서 열리는 하드웨어 인코더 없음 (시도: {0})"
    ),
    "{0} failed during the show; libx264 took over": "{0}이(가) 방송 중 실패해 libx264로 전환",
    "as set in Settings": "설정에서 고른 인코더",
    "Sources": "소스",
    "NDI extra IPs": "NDI 추가 IP",
    "Encoder": "인코더",
    "SRT latency": "SRT 지연",
    "Language": "언어",
    "System": "시스템",
    "Add at least one source.": "소스를 하나 이상 추가하세요.",
    "One per line: test:NAME, file:PATH, camera:DEVICE or ndi:NDI NAME; add =Label to name it.": (
        "한 줄에 하나씩: test:이름, file:경로, camera:장치, ndi:NDI 이름; =라벨로 이름을 붙입니다."
    ),
    "ReturnFeed could not start:\n{0}": "ReturnFeed를 시작할 수 없습니다:\n{0}",
    # accounts, the session tab, its links and SRT credentials
    "Your name": "이름",
    "Only for a new account": "새 계정을 만들 때만",
    "Create account": "계정 만들기",
    "Sign in in the browser": "브라우저에서 로그인",
    "Opens your web browser to sign in with the chosen provider": (
        "웹 브라우저를 열어 고른 제공자로 로그인합니다"
    ),
    "Enter the backend address, then choose a provider.": (
        "백엔드 주소를 입력한 다음 제공자를 고르세요."
    ),
    "A new account on this backend, with this email": "이 백엔드에 이 이메일로 새 계정을 만듭니다",
    "Enter the backend address, your email, a password and your name.": (
        "백엔드 주소, 이메일, 비밀번호와 이름을 입력하세요."
    ),
    "A new password has at least {0} characters.": "새 비밀번호는 {0}자 이상이어야 합니다.",
    "This session": "이 세션",
    "Session name": "세션 이름",
    "Rename": "이름 바꾸기",
    "End session": "세션 끝내기",
    "Ends it for good: the show stops, phones and viewers leave, links stop": (
        "세션을 완전히 끝냅니다: 방송이 멈추고, 휴대폰과 시청자가 나가고, 링크가 멈춥니다"
    ),
    "Choose a session on the Go Live tab first.": "먼저 송출 탭에서 세션을 고르세요.",
    "Copy link": "링크 복사",
    "The link stops working; whoever joined by it leaves": (
        "링크가 더 이상 작동하지 않고, 그 링크로 들어온 사람은 나가게 됩니다"
    ),
    "A new link; the old one stops": "새 링크를 만들고, 이전 링크는 멈춥니다",
    "Quality": "화질",
    "Auto: high or low by the network": "자동: 네트워크에 따라 고화질 또는 저화질",
    "Low only": "저화질만",
    "What this link's viewers or phone may watch. A change applies when you re-issue the link.": (
        "이 링크의 시청자나 휴대폰이 볼 수 있는 화질입니다. "
        "바꾼 설정은 링크를 다시 발급할 때 적용됩니다."
    ),
    "Re-issue the link to apply": "적용하려면 링크를 다시 발급하세요",
    "New camera links": "새 카메라 링크",
    "New viewer links": "새 시청자 링크",
    "The quality a new link gets; links handed out keep theirs": (
        "새 링크가 받는 화질입니다. 이미 나눠 준 링크는 그대로입니다"
    ),
    "SRT credentials": "SRT 자격 증명",
    "New credentials stop the old passphrase and publish token at once; "
    "on air, the stream reconnects with the new passphrase.": (
        "새 자격 증명을 만들면 이전 암호와 송출 토큰은 즉시 멈춥니다. "
        "방송 중이면 스트림이 새 암호로 다시 연결됩니다."
    ),
    "Rotate SRT credentials": "SRT 자격 증명 교체",
    "End \u201c{0}\u201d for good? Phones and viewers are closed and its links stop.": (
        "\u201c{0}\u201d 세션을 완전히 끝낼까요? 휴대폰과 시청자 연결이 닫히고 링크가 멈춥니다."
    ),
    "The show on air stops first.": "방송 중인 쇼를 먼저 멈춥니다.",
    "Give this session a new SRT passphrase and publish token?": (
        "이 세션에 새 SRT 암호와 송출 토큰을 줄까요?"
    ),
    "The stream reconnects with the new passphrase.": "스트림은 새 암호로 다시 연결됩니다.",
    "New SRT credentials: the stream is reconnecting with them.": (
        "새 SRT 자격 증명: 스트림이 새 자격 증명으로 다시 연결하는 중입니다."
    ),
    "New SRT credentials: the next Go Live uses them.": (
        "새 SRT 자격 증명: 다음 송출부터 사용합니다."
    ),
    "Refresh list": "목록 새로 고침",
    "On air the list follows by itself": "방송 중에는 목록이 저절로 갱신됩니다",
    # the core's words in the Go Live panel
    "{0}: {1:.0f} fps · {2:.0f} kbps": "{0}: {1:.0f} fps · {2:.0f} kbps",
    " · RTT {0:.0f} ms · loss {1:.1f}%": " · RTT {0:.0f} ms · 손실 {1:.1f}%",
    " · latency {0}": " · 지연 {0}",
    "Wake watch": "절전 복귀 감시",
    # go live: what is down
    "Take over": "제어권 가져오기",
    "Make this switcher the only director and program sender of the session": (
        "이 스위처를 세션의 유일한 감독이자 프로그램 송출기로 만듭니다"
    ),
    "Retry now": "지금 다시 시도",
    "Login": "로그인",
    "Invite links": "초대 링크",
    "Directors": "감독",
    "{0}: {1} (since {2})": "{0}: {1} ({2}부터)",
    # the crew panel
    "Crew": "크루",
    "Name": "이름",
    "Connected": "연결",
    "not connected": "연결 안 됨",
    "joined by the link {0} ago": "{0} 전에 링크로 참가",
    "Last ack": "마지막 확인",
    "Viewer": "시청자",
    "{0} s": "{0}초",
    "{0} min": "{0}분",
    "{0} h {1} min": "{0}시간 {1}분",
    "Flash phone": "휴대폰 깜빡이기",
    "Flash the selected camera's phone screen": "선택한 카메라의 휴대폰 화면을 깜빡입니다",
    "Move to camera": "카메라 옮기기",
    "Revoke link": "링크 취소",
    "The camera's link stops working; its phones leave": (
        "카메라 링크가 더 이상 작동하지 않고, 그 휴대폰은 나가게 됩니다"
    ),
    "Re-issue link": "링크 다시 발급",
    "A new link for the camera; the old one stops": (
        "카메라의 새 링크를 만들고, 이전 링크는 멈춥니다"
    ),
    "Phones and viewers appear here once they join by a link.": (
        "휴대폰과 시청자가 링크로 들어오면 여기에 나타납니다."
    ),
    # the multiview
    "Multiview": "멀티뷰",
    "Show {0} sources": "소스 {0}개 보기",
    "{0} sources": "소스 {0}개",
    "Sources {0} not shown: pick a bigger layout (still on the buses)": (
        "소스 {0}은(는) 표시되지 않음: 더 큰 배치를 고르세요 (버스에는 그대로 있음)"
    ),
    "Sources {0} not shown: the multiview holds 16 (still on the buses)": (
        "소스 {0}은(는) 표시되지 않음: 멀티뷰는 16개까지 (버스에는 그대로 있음)"
    ),
    "ON AIR {0} {1}": "온에어 {0} {1}",
    "SOURCE GONE": "소스 없음",
    "NO SIGNAL": "신호 없음",
    "Multiview layout {0} in the settings is not 4, 9 or 16; {1} is used.": (
        "설정의 멀티뷰 배치 {0}은(는) 4, 9, 16이 아니어서 {1}을(를) 씁니다."
    ),
    # recordings (ui/widgets/recordings.py, ui/models/recordings.py)
    "Recording": "녹화",
    "Recordings": "녹화 목록",
    "Started": "시작",
    "Duration": "길이",
    "Size": "크기",
    "State": "상태",
    "Recording now": "녹화 중",
    "Interrupted (the server stopped)": "중단됨 (서버가 멈춤)",
    "the stream ended": "송출이 끝남",
    "the stream restarted": "송출이 다시 시작됨",
    "switched off": "녹화를 끔",
    "disk full": "디스크가 가득 참",
    "write error": "쓰기 오류",
    "the server stopped": "서버가 멈춤",
    "Ended: {0}": "끝남: {0}",
    "Ended": "끝남",
    "Save recording": "녹화 저장",
    "MP4 video (*.mp4)": "MP4 동영상 (*.mp4)",
    "Record": "녹화하기",
    "Keep a recording of each Go Live of this session on the server. "
    "Switched off on air, the recording ends; on again, a new one begins.": (
        "이 세션의 송출마다 서버에 녹화를 남깁니다. "
        "방송 중에 끄면 녹화가 끝나고, 다시 켜면 새 녹화가 시작됩니다."
    ),
    "Recording off": "녹화 꺼짐",
    "Each Go Live is recorded": "송출마다 녹화됩니다",
    "● Recording": "● 녹화 중",
    "Recording starts with the picture": "영상이 들어오면 녹화가 시작됩니다",
    "Refresh": "새로 고침",
    "Download…": "내려받기…",
    "Save the recording as one MP4 file": "녹화를 동영상 파일 하나로 저장합니다",
    "Play": "재생",
    "Open the recording in this computer's player": "이 컴퓨터의 플레이어로 녹화를 엽니다",
    "Delete…": "삭제…",
    "Downloading…": "내려받는 중…",
    "Downloading to play…": "재생하려고 내려받는 중…",
    "Delete the recording started {0}? It cannot be undone.": (
        "{0}에 시작한 녹화를 삭제할까요? 되돌릴 수 없습니다."
    ),
    "Delete recording": "녹화 삭제",
    "Saved to {0}": "{0}에 저장했습니다",
    "This server keeps no recordings": "이 서버는 녹화를 보관하지 않습니다",
    "Audience link (HLS)": "관객 링크 (HLS)",
    "For audiences larger than the live viewers' link: any HLS player, "
    "no login, about 8 s behind live.": (
        "라이브 시청 링크보다 많은 관객용: 어느 HLS 플레이어로나, "
        "로그인 없이, 라이브보다 약 8초 늦게 봅니다."
    ),
    "Valid 1 hour": "1시간 유효",
    "Valid 1 day": "1일 유효",
    "Valid 7 days": "7일 유효",
    "Make link": "링크 만들기",
    "No audience link made yet": "아직 만든 관객 링크가 없습니다",
    "Copy": "복사",
    "Revoke all links…": "모든 링크 취소…",
    "Every audience link of this session stops, those handed out before too": (
        "이 세션의 모든 관객 링크가 멈춥니다. 전에 나눠 준 링크도 마찬가지입니다"
    ),
    "Revoke every audience link of this session? "
    "Everyone playing an audience link stops; links made after work.": (
        "이 세션의 모든 관객 링크를 취소할까요? "
        "관객 링크로 보고 있는 모든 사람의 재생이 멈춥니다. 그 뒤에 만든 링크는 됩니다."
    ),
    "Revoke audience links": "관객 링크 취소",
    "Expired {0}: make a new link": "{0}에 만료됨: 새 링크를 만드세요",
    "Valid until {0}": "{0}까지 유효",
}
