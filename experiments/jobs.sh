# Sourced by the experiment scripts: the run_jobs.sh line of one run.
# job_line OUT "COMMON ARGS" NAME [METHOD [EXTRA ARGS]]
#   NAME is METHOD_MODE (kd_ml_offline, styles_online, ...); METHOD defaults to NAME without its mode. Offline runs
#   other than kd_offline load the teacher that kd_offline trains (--teacher_weights OUT/kd_offline); run_jobs.sh starts
#   them once the others are done.
# SUFFIX (environment) is added to every run's folder, e.g. SUFFIX=_seed2 SEEDS=2 adds seed 2 beside the runs
# already there (kdml_train refuses a folder that holds a run); offline runs then load OUT/kd_offline$SUFFIX.
job_line() {
  local out=$1 common=$2 name=$3 mode=${3##*_}
  local method=${4:-${3%_*}} extra=${5:-}
  [[ $mode == offline && $name != kd_offline ]] && extra="$extra --teacher_weights $out/kd_offline${SUFFIX:-}"
  echo "$out/$name${SUFFIX:-} $common --method $method --$mode $extra"
}
